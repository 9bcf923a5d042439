import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type CreditLink, LINK_TTL_MS, type LinkCreditsResult, signedText } from '../../src/protocol/coordinator.ts';
import type { Identity } from '../../src/core/identity.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';

async function signedLink(signer: Identity, link: Partial<CreditLink> & { to: string }): Promise<{ link: CreditLink; signature: string }> {
  const full: CreditLink = { from: signer.peerId, fromKey: signer.publicKey, nonce: crypto.randomUUID().replaceAll('-', ''), expiresAt: Date.now() + 60_000, ...link };
  return { link: full, signature: await signer.sign(signedText('link', full)) };
}

describe('mesh: credit links from an embed identity into the app identity', () => {
  it("moves all the embed identity's credits once, grants staying grants; a replay moves nothing; books balance", async () => {
    const c = await startTestCoordinator();
    try {
      const embed = await MeshTestClient.connect(c.url);
      const app = await MeshTestClient.connect(c.url);
      const before = await app.request<{ balance: number }>({ type: 'balance' });
      const held = (await embed.request<{ balance: number }>({ type: 'balance' })).balance;
      assert.ok(held > 0);
      const signed = await signedLink(embed.identity, { to: app.peerId });
      const r = await app.request<LinkCreditsResult>({ type: 'link', ...signed });
      assert.equal(r.moved, true);
      assert.equal(r.earned + r.grant, held);
      assert.equal(r.balance, before.balance + held);
      assert.equal((await embed.request<{ balance: number }>({ type: 'balance' })).balance, 0);
      const again = await app.request<LinkCreditsResult>({ type: 'link', ...signed });
      assert.equal(again.moved, false);
      assert.equal(again.balance, before.balance + held, 'a replayed link moves nothing');
      const s = await c.ledger.summary();
      assert.equal(s.total, s.minted);
    } finally {
      await c.close();
    }
  });

  it('the rendezvous: the app names itself for a code, the embed looks it up, signs and presents the link, the app hears it', async () => {
    const c = await startTestCoordinator();
    try {
      const embed = await MeshTestClient.connect(c.url);
      const app = await MeshTestClient.connect(c.url);
      const other = await MeshTestClient.connect(c.url);
      const code = 'c0de'.repeat(6);
      assert.deepEqual(await embed.request({ type: 'link-lookup', code }), { to: null });
      assert.deepEqual(await app.request({ type: 'link-target', code }), { claimed: true });
      assert.deepEqual(await other.request({ type: 'link-target', code }), { claimed: false }, 'the first to name itself keeps the code');
      const { to } = await embed.request<{ to: string }>({ type: 'link-lookup', code });
      assert.equal(to, app.peerId);
      const held = (await embed.request<{ balance: number }>({ type: 'balance' })).balance;
      const signed = await signedLink(embed.identity, { to });
      const r = await embed.request<LinkCreditsResult>({ type: 'link', ...signed, code });
      assert.equal(r.moved, true);
      assert.equal(r.balance, 0, "the presenter's own balance");
      const linked = await app.next('linked');
      assert.equal(linked.from, embed.peerId);
      assert.equal(linked.earned + linked.grant, held);
      assert.deepEqual(await embed.request({ type: 'link-lookup', code }), { to: null }, 'a used code is forgotten');
      await assert.rejects(app.request({ type: 'link-target', code: 'short' }), /invalid|code/i);
      const s = await c.ledger.summary();
      assert.equal(s.total, s.minted);
    } finally {
      await c.close();
    }
  });

  it('hostile links are refused before the ledger is touched', async () => {
    const c = await startTestCoordinator();
    try {
      const victim = await MeshTestClient.connect(c.url);
      const thief = await MeshTestClient.connect(c.url);
      const app = await MeshTestClient.connect(c.url);
      const summary = await c.ledger.summary();
      // A link the victim signed for its own app cannot be presented by someone else.
      const mine = await signedLink(victim.identity, { to: app.peerId });
      await assert.rejects(thief.request({ type: 'link', ...mine }), /as this session, mw[0-9a-f]+, is neither/);
      // Claiming to be the victim with one's own key, or with the victim's key but one's own signature.
      const forgedFrom = await signedLink(thief.identity, { to: thief.peerId, from: victim.peerId });
      await assert.rejects(thief.request({ type: 'link', ...forgedFrom }), /'fromKey' is not its public key/);
      const stolenKey = await signedLink(thief.identity, { to: thief.peerId, from: victim.peerId, fromKey: victim.identity.publicKey });
      await assert.rejects(thief.request({ type: 'link', ...stolenKey }), /signature does not verify/);
      const expired = await signedLink(victim.identity, { to: app.peerId, expiresAt: Date.now() - 1 });
      await assert.rejects(app.request({ type: 'link', ...expired }), /the link expired/);
      const forever = await signedLink(victim.identity, { to: app.peerId, expiresAt: Date.now() + 10 * LINK_TTL_MS });
      await assert.rejects(app.request({ type: 'link', ...forever }), /more than 15 minutes ahead/);
      const self = await signedLink(app.identity, { to: app.peerId });
      await assert.rejects(app.request({ type: 'link', ...self }), /to itself/);
      // A signature over a different link does not carry over (the nonce is signed).
      const other = await signedLink(victim.identity, { to: app.peerId });
      await assert.rejects(app.request({ type: 'link', link: { ...other.link, nonce: 'changed' }, signature: other.signature }), /signature does not verify/);
      // Malformed frames fail validation.
      await assert.rejects(app.request({ type: 'link', link: { ...mine.link, amount: 5 }, signature: mine.signature } as never), /invalid|amount/i);
      await assert.rejects(app.request({ type: 'link', link: { ...mine.link, from: 'not-a-key-id' }, signature: mine.signature } as never), /invalid|from/i);
      assert.deepEqual(await c.ledger.summary(), summary, 'nothing moved');
      assert.equal((await app.request<LinkCreditsResult>({ type: 'link', ...mine })).moved, true, 'the genuine link still works');
    } finally {
      await c.close();
    }
  });
});
