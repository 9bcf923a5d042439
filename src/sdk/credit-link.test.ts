import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as v from 'valibot';
import { CreditLinkSchema, LINK_TTL_MS, signedText } from '../protocol/coordinator.ts';
import { generateKeyPair, identityFromKeyPair, verifySignature } from '../core/identity.ts';
import { claimUrl, linkedTotal, newLinkCode, parseClaimHash, signCreditLink } from './credit-link.ts';

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

  it('claim URLs carry a fresh code and the offering site; parseClaimHash accepts only well-formed ones', () => {
    const code = newLinkCode();
    assert.match(code, /^[A-Za-z0-9_-]{24}$/);
    assert.notEqual(code, newLinkCode());
    const url = new URL(claimUrl('http://127.0.0.1:8787/some/path', code, 'https://shop.example'));
    assert.equal(url.origin, 'http://127.0.0.1:8787');
    assert.deepEqual(parseClaimHash(url.hash), { code, site: 'https://shop.example' });
    assert.equal(parseClaimHash('#run'), undefined);
    assert.equal(parseClaimHash('#claim-credits=short&site=https%3A%2F%2Fa.example'), undefined);
    assert.equal(parseClaimHash(`#claim-credits=${code}&site=javascript%3Aalert(1)`), undefined);
    assert.equal(parseClaimHash(`#claim-credits=${code}`), undefined);
  });
});
