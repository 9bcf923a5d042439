/**
 * A JobRun against a stand-in coordinator session (requests answered by a table, pushes raised as its events)
 * and stand-in peer links: how a handle settles and which leases it rejects. The transfer itself is tested in
 * lease-runner.test.ts over a real in-memory link.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, identityFromKeyPair } from '../core/identity.ts';
import type { CoordinatorClient, RequestFrame } from '../mesh/coordinator-client.ts';
import { LeaseInbox } from '../mesh/lease-inbox.ts';
import type { PeerLink } from '../mesh/peer-link.ts';
import type { JobStatus, Lease } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { planWgsl } from './kernels/index.ts';
import { JobRun, RELEASE_WAIT_MS } from './job-run.ts';
import { NOT_FOUND_RECHECK_MS } from './job-watch.ts';
import { JobRouter, type SessionContext } from './session.ts';
import type { JobProgress } from './types.ts';

const JOB = 'job1';
const ESCROW = 1_000;
const running: JobStatus = { jobId: JOB, state: 'running', shards: 1, settled: 0, escrow: ESCROW, spent: 0, fees: 0, refunded: 0 };

/** The coordinator session: `answer` decides each request's outcome; every request is recorded. */
class CoordinatorStandIn extends EventTarget {
  state: 'open' | 'reconnecting' | 'closed' = 'open';
  readonly sent: RequestFrame[] = [];
  answer: (frame: RequestFrame) => unknown = (f) => (f.type === 'cancel' ? { status: { ...running, state: 'cancelled' } } : {});
  request<T>(frame: RequestFrame): Promise<T> {
    this.sent.push(frame);
    if (frame.type === 'submit') return Promise.resolve({ jobId: JOB, escrow: ESCROW, status: running } as T);
    try {
      return Promise.resolve(this.answer(frame) as T);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  push(frame: unknown): void {
    this.dispatchEvent(new CustomEvent((frame as { type: string }).type, { detail: frame }));
  }
  rejects(): string[] {
    return this.sent.flatMap((f) => (f.type === 'reject' ? [f.reason] : []));
  }
}

/** A peer link on which the contributor fails every lease at once, as a crashed worker or lost GPU would. */
function failingLink(code: string): PeerLink {
  const inboxes = new Map<string, LeaseInbox>();
  const link = {
    lease: (leaseId: string) => inboxes.get(leaseId) ?? inboxes.set(leaseId, new LeaseInbox(leaseId)).get(leaseId)!,
    sendControl(frame: { leaseId: string }) {
      inboxes.get(frame.leaseId)?.pushFrame({ type: 'fail', leaseId: frame.leaseId, error: { name: 'MeshError', code, message: 'GPU device lost' } });
    },
    endLease: (leaseId: string) => void inboxes.delete(leaseId),
  };
  return link as unknown as PeerLink;
}

/** A peer link on which the contributor stays silent: a lease's transfer is still running. */
function silentLink(): PeerLink {
  const inboxes = new Map<string, LeaseInbox>();
  const link = {
    lease: (leaseId: string) => inboxes.get(leaseId) ?? inboxes.set(leaseId, new LeaseInbox(leaseId)).get(leaseId)!,
    sendControl() {},
    endLease: (leaseId: string) => void inboxes.delete(leaseId),
  };
  return link as unknown as PeerLink;
}

async function setup(link: PeerLink = failingLink('gpu-device-lost'), outputGraceMs?: number) {
  const coordinator = new CoordinatorStandIn();
  const identity = await identityFromKeyPair(await generateKeyPair());
  const ctx = {
    base: 'http://127.0.0.1:1',
    identity,
    coordinator: coordinator as unknown as CoordinatorClient,
    network: { link: () => Promise.resolve(link) },
    balanceChanged: () => {},
  } as unknown as SessionContext;
  const router = new JobRouter(ctx.coordinator);
  const plan = planWgsl({
    kernel: { source: '@compute @workgroup_size(1) fn main() {}', entryPoint: 'main', bindings: [{ binding: 0, role: 'output' }] },
    shards: [{ inputs: [], outputs: [{ name: 'y', dtype: 'float32', dims: [1] }], dispatch: [1, 1, 1], workUnits: 1 }],
  });
  const run = new JobRun(ctx, router, plan, { bid: 1, verifyFraction: 0, tolerance: { abs: 0, rel: 0 }, deadlineMs: 60_000, ...(outputGraceMs === undefined ? {} : { outputGraceMs }) });
  const events: JobProgress[] = [];
  run.addEventListener('progress', (e) => events.push((e as CustomEvent<JobProgress>).detail));
  assert.equal(await run.jobId, JOB);
  return { coordinator, run, events };
}

function lease(leaseId: string): Lease {
  return { leaseId, jobId: JOB, shard: 0, client: 'mwclient', contributor: 'mwpeer', price: 1, expiresAt: Date.now() + 60_000, replica: false };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JobRun', () => {
  it("rejects a failed job's result with the coordinator's reason, says so in the last progress event, and resolves its cost", async () => {
    const { coordinator, run, events } = await setup();
    const reason = { code: 'invalid-message' as const, message: "Cannot run job job1 as 2 contributor(s) found it wrong (shard 0: bad-input: no output 'nope')" };
    coordinator.push({ type: 'job', status: { ...running, state: 'failed', reason, refunded: ESCROW } });
    await assert.rejects(run.result, (err: MeshError) => err instanceof MeshError && err.code === 'invalid-message' && err.message === reason.message);
    assert.deepEqual(await run.cost, { spent: 0, fees: 0, refunded: ESCROW, escrow: ESCROW, unknown: 0, source: 'coordinator' });
    assert.deepEqual(events.at(-1), { done: 0, total: 1, state: 'failed', error: reason });
  });

  it('settles on a welcome when the job was cancelled while the client was away', async () => {
    const { coordinator, run, events } = await setup();
    coordinator.answer = (f) => (f.type === 'job' ? { ...running, state: 'cancelled', refunded: ESCROW } : {});
    coordinator.push({ type: 'welcome', peerId: 'mwclient', balance: 0, feeRate: 0, leaseMs: 1 });
    await assert.rejects(run.result, (err: MeshError) => err.code === 'cancelled' && /the coordinator cancelled it/.test(err.message));
    assert.equal((await run.cost).refunded, ESCROW);
    assert.equal(events.at(-1)?.state, 'cancelled');
  });

  it("settles as lost, on the client's own record, when the coordinator no longer knows the job", async () => {
    const { coordinator, run, events } = await setup();
    coordinator.push({ type: 'job', status: { ...running, spent: 100, fees: 5 } });
    coordinator.answer = (f) => {
      if (f.type === 'job') throw new MeshError('not-found', `Cannot find job ${JOB}`);
      return {};
    };
    coordinator.push({ type: 'welcome', peerId: 'mwclient', balance: 0, feeRate: 0, leaseMs: 1 });
    await sleep(NOT_FOUND_RECHECK_MS + 200);
    await assert.rejects(run.result, (err: MeshError) => err.code === 'not-found' && /no longer knows it/.test(err.message));
    assert.deepEqual(await run.cost, { spent: 100, fees: 5, refunded: 0, escrow: ESCROW, unknown: ESCROW - 105, source: 'client' });
    assert.equal(events.at(-1)?.state, 'lost');
    assert.equal(events.at(-1)?.error?.code, 'not-found');
  });

  it('resolves the cost on its own record when the session closes first', async () => {
    const { run } = await setup();
    run.abandon(new MeshError('transfer-failed', 'Cannot reconnect'));
    await assert.rejects(run.result, (err: MeshError) => err.code === 'transfer-failed');
    assert.deepEqual(await run.cost, { spent: 0, fees: 0, refunded: 0, escrow: ESCROW, unknown: ESCROW, source: 'client' });
  });

  it('does not reject a lease the contributor failed and the coordinator released with its failure', async () => {
    const { coordinator, run, events } = await setup();
    coordinator.push({ type: 'assigned', lease: lease('l1') });
    await sleep(50); // the link reported the failure; the client waits for the coordinator
    coordinator.push({ type: 'released', leaseId: 'l1', jobId: JOB, shard: 0, reason: 'failed: device-lost', failure: 'device-lost' });
    await sleep(RELEASE_WAIT_MS + 200);
    assert.deepEqual(coordinator.rejects(), []);
    assert.deepEqual(events.find((e) => e.state === 'released'), { done: 0, total: 1, shard: 0, contributor: 'mwpeer', state: 'released', reason: 'failed: device-lost', failure: 'device-lost' });
    await run.cancel();
  });

  it("rejects a lease the contributor failed as 'transfer-failed' when no release comes", async () => {
    const { coordinator, run, events } = await setup();
    coordinator.push({ type: 'assigned', lease: lease('l2') });
    await sleep(RELEASE_WAIT_MS / 2);
    assert.deepEqual(coordinator.rejects(), []);
    await sleep(RELEASE_WAIT_MS / 2 + 200);
    assert.deepEqual(coordinator.rejects(), ['transfer-failed']);
    assert.equal(events.at(-1)?.state, 'failed');
    await run.cancel();
  });

  it('a job reported done while an output is still streaming waits for it, within the grace, before it ends', async () => {
    const { coordinator, run, events } = await setup(silentLink(), 600);
    coordinator.push({ type: 'assigned', lease: lease('l3') });
    await sleep(50);
    coordinator.push({ type: 'job', status: { ...running, state: 'done', settled: 1, spent: 10, fees: 1, refunded: ESCROW - 11 } });
    let ended = false;
    run.result.catch(() => {}).finally(() => (ended = true));
    await sleep(300);
    assert.equal(ended, false, 'the handle must not end while the lease of an unsettled shard is still transferring');
    assert.equal(events.some((e) => e.state === 'done'), false);
    await assert.rejects(run.result, (err: MeshError) => err.code === 'transfer-failed' && /before the outputs of 1 shards arrived/.test(err.message));
    assert.equal((await run.cost).spent, 10);
    assert.equal(events.at(-1)?.state, 'done');
  });

  it('a job reported done with no transfer running ends at once', async () => {
    const { coordinator, run } = await setup(silentLink(), 60_000);
    const started = Date.now();
    coordinator.push({ type: 'job', status: { ...running, state: 'done', settled: 1 } });
    await assert.rejects(run.result, (err: MeshError) => err.code === 'transfer-failed');
    assert.ok(Date.now() - started < 5_000);
  });
});
