import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authMessage, signedText } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient, newIdentity } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';

describe('mesh API: authentication', () => {
  it('welcomes a peer that signs the challenge and creates its account with starter credits', async () => {
    const c = await startTestCoordinator({ starterCredits: 1000, feeRate: 0.05, leaseMs: 5000 });
    try {
      const peer = await MeshTestClient.connect(c.url);
      assert.deepEqual(peer.welcome, { type: 'welcome', peerId: peer.peerId, balance: 1000 * 1e6, feeRate: 0.05, leaseMs: 5000 });
      assert.deepEqual(await peer.request({ type: 'balance' }), { peerId: peer.peerId, balance: 1e9 });
      await peer.close();
    } finally {
      await c.close();
    }
  });

  it('refuses a wrong signature and a key that does not derive the id, and closes the socket', async () => {
    const c = await startTestCoordinator();
    try {
      const me = await newIdentity();
      const other = await newIdentity();
      for (const auth of [
        async (nonce: string) => ({ publicKey: me.publicKey, signature: await other.sign(authMessage(nonce, me.peerId)) }),
        async (nonce: string) => ({ publicKey: other.publicKey, signature: await other.sign(authMessage(nonce, me.peerId)) }),
        async (nonce: string) => ({ publicKey: me.publicKey, signature: await me.sign(authMessage(nonce + 'x', me.peerId)) }),
      ]) {
        const inbox = MeshTestClient.open(c.url);
        const { nonce } = await inbox.nextOfType('challenge');
        inbox.send({ type: 'auth', v: PROTOCOL_VERSION, peerId: me.peerId, ...(await auth(nonce)) });
        const err = await inbox.nextOfType('error');
        assert.equal(err.error.code, 'unauthorized');
        await inbox.closed;
      }
      const summary = await c.ledger.summary();
      assert.equal(summary.minted, 0, 'no account was created for a refused peer');
    } finally {
      await c.close();
    }
  });

  it('closes a session that sends anything but auth first, without handling it', async () => {
    const c = await startTestCoordinator();
    try {
      const inbox = MeshTestClient.open(c.url);
      await inbox.nextOfType('challenge');
      inbox.send({ type: 'balance', rid: 7 });
      const err = await inbox.nextOfType('error');
      assert.deepEqual([err.rid, err.error.code], [7, 'unauthorized']);
      assert.equal((await inbox.closed).code, 4001);
      // A large frame before auth is refused unread by the socket (a 3 MiB submit would cost real CPU to parse)...
      const big = MeshTestClient.open(c.url);
      await big.nextOfType('challenge');
      big.send({ type: 'submit', rid: 1, job: { pad: 'x'.repeat(3 * 1024 * 1024) }, signature: 'x' });
      assert.equal((await big.closed).code, 1009);
      // ...and one that fits the socket but not an auth frame is refused by the session, unparsed.
      const mid = MeshTestClient.open(c.url);
      await mid.nextOfType('challenge');
      mid.send({ type: 'submit', rid: 1, job: { pad: 'x'.repeat(3000) }, signature: 'x' });
      const refused = await mid.nextOfType('error');
      assert.equal(refused.error.code, 'unauthorized');
      assert.match(refused.error.message, /larger than 2048 characters/);
      assert.equal((await mid.closed).code, 4001);
      // An auth on a fresh socket still works.
      const me = await newIdentity();
      const ok = MeshTestClient.open(c.url);
      const { nonce } = await ok.nextOfType('challenge');
      ok.send({ type: 'auth', v: PROTOCOL_VERSION, peerId: me.peerId, publicKey: me.publicKey, signature: await me.sign(authMessage(nonce, me.peerId)) });
      assert.equal((await ok.nextOfType('welcome')).peerId, me.peerId);
      await ok.close();
    } finally {
      await c.close();
    }
  });

  it('replaces an older session of the same peer', async () => {
    const c = await startTestCoordinator();
    try {
      const me = await newIdentity();
      const first = await MeshTestClient.connect(c.url, me);
      const second = await MeshTestClient.connect(c.url, me);
      assert.equal((await first.inbox.closed).code, 4000);
      assert.equal((await second.request<{ balance: number }>({ type: 'balance' })).balance, 1e9);
      await second.close();
    } finally {
      await c.close();
    }
  });
});

describe('mesh API: invalid requests', () => {
  it('names the bad field, keeps the rid and keeps the session up', async () => {
    const c = await startTestCoordinator();
    try {
      const peer = await MeshTestClient.connect(c.url);
      peer.inbox.send({ type: 'register', rid: 3, caps: { cpu: {} }, askPrice: 1, maxConcurrent: 1 });
      const err = await peer.inbox.nextOfType('error');
      assert.equal(err.rid, 3);
      assert.equal(err.error.code, 'invalid-message');
      assert.match(err.error.message, /'caps\.cpu\.cores'/);
      peer.inbox.send('{oops');
      assert.match((await peer.inbox.nextOfType('error')).error.message, /valid JSON/);
      peer.inbox.send({ type: 'teleport', rid: 4 });
      assert.match((await peer.inbox.nextOfType('error')).error.message, /'type': expected one of auth, register/);
      assert.equal((await peer.request<{ balance: number }>({ type: 'balance' })).balance, 1e9);
      await peer.close();
    } finally {
      await c.close();
    }
  });

  it('refuses a job whose signature does not verify, a replayed job and bad shard indices', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const job = onnxJob();
      const forged = await client.request({ type: 'submit', job, signature: await client.identity.sign(signedText('job', { ...job, bid: 1 })) })
        .catch((e) => e);
      assert.equal((forged as MeshError).code, 'unauthorized');
      await client.submit(job);
      assert.equal((await client.submit(job).catch((e) => e) as MeshError).code, 'conflict');
      const skewed = onnxJob();
      skewed.shards[1]!.index = 5;
      const err = await client.submit(skewed).catch((e) => e) as MeshError;
      assert.equal(err.code, 'invalid-message');
      assert.match(err.message, /'job\.shards\[1\]\.index' must be 1/);
      await client.close();
    } finally {
      await c.close();
    }
  });

  it('refuses a job the client cannot pay for and creates nothing', async () => {
    const c = await startTestCoordinator({ starterCredits: 0 });
    try {
      const client = await MeshTestClient.connect(c.url);
      const err = await client.submit(onnxJob()).catch((e) => e);
      assert.ok(err instanceof MeshError);
      assert.equal(err.code, 'insufficient-funds');
      assert.equal(c.market.runningJobs, 0);
      const summary = await c.ledger.summary();
      assert.deepEqual([summary.total, summary.minted], [0, 0]);
      await client.close();
    } finally {
      await c.close();
    }
  });

  it('rate-limits a flooding session with rate-limited errors', async () => {
    const c = await startTestCoordinator({ ratePerSec: 5, rateBurst: 5 });
    try {
      const peer = await MeshTestClient.connect(c.url);
      const replies = await Promise.allSettled(Array.from({ length: 10 }, () => peer.request({ type: 'balance' })));
      const limited = replies.filter((r) => r.status === 'rejected' && (r.reason as MeshError).code === 'rate-limited');
      assert.ok(limited.length >= 4, `expected rate-limited replies, got ${limited.length}`);
      await peer.close();
    } finally {
      await c.close();
    }
  });
});
