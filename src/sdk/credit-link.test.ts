import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as v from 'valibot';
import { CreditLinkSchema, LINK_TTL_MS, signedText } from '../protocol/coordinator.ts';
import { generateKeyPair, identityFromKeyPair, verifySignature } from '../core/identity.ts';
import { linkedTotal, signCreditLink } from './credit-link.ts';

describe('credit links', () => {
  it('signCreditLink() signs a valid, expiring, single-use link that verifies with the signer key only', async () => {
    const embed = await identityFromKeyPair(await generateKeyPair());
    const app = await identityFromKeyPair(await generateKeyPair());
    const now = 1_700_000_000_000;
    const a = await signCreditLink(embed, app.peerId, now);
    const b = await signCreditLink(embed, app.peerId, now);
    assert.ok(v.safeParse(CreditLinkSchema, a.link).success);
    assert.equal(a.link.from, embed.peerId);
    assert.equal(a.link.to, app.peerId);
    assert.equal(a.link.expiresAt, now + LINK_TTL_MS);
    assert.notEqual(a.link.nonce, b.link.nonce, 'each link has its own nonce');
    assert.equal(await verifySignature(embed.publicKey, signedText('link', a.link), a.signature), true);
    assert.equal(await verifySignature(app.publicKey, signedText('link', a.link), a.signature), false);
    assert.equal(await verifySignature(embed.publicKey, signedText('link', { ...a.link, to: embed.peerId }), a.signature), false);
  });

  it("refuses a 'to' that is not a peer id", async () => {
    const embed = await identityFromKeyPair(await generateKeyPair());
    await assert.rejects(signCreditLink(embed, 'https://evil.example'), /'to' is not a peer id/);
    assert.equal(linkedTotal({ earned: 3, grant: 4 }), 7);
  });
});
