/**
 * Phase 3: how long a job stands still when its instance dies. Three instances on one database: f0 runs the
 * client's job, f1 is the home of the contributors (CONTRIBUTORS of them, claiming every `assign` at once;
 * the client pays each acknowledged claim), f2 is where the client goes. Each round:
 * 1. a new client connects to f0 and submits a job of SHARDS shards; once PROGRESS of its runs are paid,
 * 2. f0 gets SIGKILL (t = 0); the client sees its socket close and connects at once to f2 with the same
 *    identity (f2 takes the job over before its `welcome`: it asks f0 to hand it over, waits HANDOFF_TIMEOUT_MS
 *    (cluster/ownership.ts, 1.5 s) since f0 is still within its heartbeat TTL, then takes it by compare-and-set),
 *    and sends again every receipt that got no answer;
 * 3. times from t = 0: `welcome` from f2; the first receipt f2 answers paid:true (often one sent again: a run
 *    claimed before the kill); the first `assign` of a lease given after the kill (by f2: a lease's time of
 *    issue is its `expiresAt` minus LEASE_MS, and every process reads the same clock); the first paid:true
 *    receipt of a run leased after the kill: new work leased, claimed and paid on the new owner, which is
 *    what "the job moves again" means here. Frames f0 sent just before it died and that arrive after t = 0
 *    count for none of these. The round ends at the last of them (or after ROUND_TIMEOUT_MS), the client
 *    cancels the job, and f0 starts again under the same id (the store keeps everything; f0 owns nothing).
 * The job's owner in the store after the round is checked to be f2. The ledger is audited at the end.
 */
import { onnxJob } from '../../coordinator/testing/fixtures.ts';
import { newIdentity } from '../../coordinator/testing/mesh-client.ts';
import { outputHash } from '../../coordinator/testing/peers.ts';
import { cpuCaps } from '../../coordinator/testing/fixtures.ts';
import { openPgMarketStore } from '../../coordinator/store/pg/mod.ts';
import { BenchPeer } from './bench-peer.ts';
import { FailoverClient, type ToPay } from './failover-client.ts';
import { freshDatabase, type Instance, LEASE_MS, logsOf, startInstance, startInstances } from './instances.ts';
import { checkLedger, type LedgerReport } from './ledger-check.ts';
import { quantile, round, sleep } from './stats.ts';
import type { ThroughputPlace } from './throughput.ts';

const CONTRIBUTORS = 4;
const MAX_CONCURRENT = 8;
const SHARDS = 2_000;
const PROGRESS = 100;
const ROUND_TIMEOUT_MS = 20_000;
/** Time after f0 is back before the next round: two heartbeats of every instance (DEFAULT_OWNERSHIP_TIMING). */
const RESTART_SETTLE_MS = 2_500;
/** A claim answered later than this after its lease's owner died counts its contributor as blocked. */
const BLOCKED_MS = 1_000;

/** One round's times from the kill, in ms (undefined: did not happen within the round). */
export interface FailoverRound {
  welcomeMs: number;
  firstAssignMs?: number;
  firstSettleMs?: number;
  firstNewSettleMs?: number;
  /** The job's owner in the store after the round. */
  owner: string;
  /** Receipts the client had sent or queued without an answer when its socket closed. */
  unansweredAtKill: number;
  /** The longest a claim of a lease f0 gave, answered after the kill, waited for its acknowledgement (one its
   * contributor's home forwarded to f0 waits out the cluster's claim timeout, and the contributor's later
   * requests queue behind it: a mesh session runs its requests one at a time). */
  slowestClaimMs: number;
  /** Contributors (of CONTRIBUTORS) with such a claim that waited over BLOCKED_MS: none of their later claims
   * could land before it. When all of them are, no new run can be paid before the claim timeout. */
  blockedContributors: number;
}

/** p50/p99 over the rounds where the event happened, and how many those were. */
export interface Quantiles {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

/** What the phase measured. */
export interface FailoverResult {
  contributors: number;
  rounds: FailoverRound[];
  welcome: Quantiles;
  firstAssign: Quantiles;
  firstSettle: Quantiles;
  firstNewSettle: Quantiles;
  slowestClaim: Quantiles;
  /** Refused claims and receipts by error code (leases lost with f0's unwritten state, runs revoked at cancel). */
  refusals: Record<string, number>;
  ledger: LedgerReport;
  logs: { warn: number; error: number; samples: string[] };
}

interface Round {
  jobId: string;
  /** performance.now() and Date.now() of the kill. */
  killedAt?: number;
  killedAtWall?: number;
  paid: number;
  times: Partial<Pick<FailoverRound, 'firstAssignMs' | 'firstSettleMs' | 'firstNewSettleMs'>>;
  slowestClaimMs: number;
  blocked: Set<string>;
}

/** Runs `rounds` rounds on three fresh instances. */
export async function measureFailover(place: ThroughputPlace, o: { rounds: number }): Promise<FailoverResult> {
  const store = await freshDatabase(place.pgServer, 'failover');
  const where = { store, bus: place.bus, dir: place.dir };
  const instances: Instance[] = await startInstances(where, 3, 'f');
  const started = [...instances];
  const refusals: Record<string, number> = {};
  const refuse = (what: string, err: Error) => {
    const key = `${what}: ${(err as { code?: string }).code ?? err.message.slice(0, 60)}`;
    refusals[key] = (refusals[key] ?? 0) + 1;
  };
  let current: Round | undefined;
  let client: FailoverClient | undefined;
  const contributors: BenchPeer[] = [];
  const rounds: FailoverRound[] = [];
  const owners = await openPgMarketStore({ url: store, poolSize: 1 });
  try {
    for (let c = 0; c < CONTRIBUTORS; c++) {
      const peer: BenchPeer = await BenchPeer.connect(instances[1]!.url, await newIdentity(), (f) => {
        if (f.type !== 'assign') return;
        const r = current;
        if (r?.killedAt !== undefined && f.lease.jobId === r.jobId && leasedAfterKill(f.lease, r)) r.times.firstAssignMs ??= performance.now() - r.killedAt;
        const hash = outputHash(f.lease);
        const sent = performance.now();
        // A claim of a lease f0 gave that is answered after the kill: its home may have forwarded it to f0.
        const done = () => {
          if (!r || r !== current || r.killedAt === undefined || leasedAfterKill(f.lease, r)) return;
          const waited = performance.now() - sent;
          r.slowestClaimMs = Math.max(r.slowestClaimMs, waited);
          if (waited > BLOCKED_MS) r.blocked.add(peer.peerId);
        };
        peer.claim(f.lease, hash).then((ack) => {
          done();
          if (ack.accepted && !ack.duplicate) client?.pay({ lease: f.lease, hash });
        }, (err) => {
          done();
          refuse('claim', err);
        });
      });
      await peer.request({ type: 'register', caps: cpuCaps(), askPrice: 1, maxConcurrent: MAX_CONCURRENT });
      contributors.push(peer);
    }
    await sleep(300); // every instance hears of the contributors
    for (let n = 0; n < o.rounds; n++) {
      const events = {
        paid: (p: ToPay, paid: boolean, session: number) => {
          const r = current;
          if (!r || !paid || p.lease.jobId !== r.jobId) return;
          r.paid++;
          if (r.killedAt === undefined || session < 2) return;
          const at = performance.now() - r.killedAt;
          r.times.firstSettleMs ??= at;
          if (leasedAfterKill(p.lease, r)) r.times.firstNewSettleMs ??= at;
        },
        refused: (_p: ToPay, err: Error) => refuse('pay', err),
      };
      client = new FailoverClient(await newIdentity(), 1000, events);
      const first = await client.connect(instances[0]!.url);
      const { jobId } = await first.submit(onnxJob({ shards: SHARDS, items: 1, bid: 2, verifyFraction: 0, deadlineMs: 600_000 }));
      const r: Round = current = { jobId, paid: 0, times: {}, slowestClaimMs: 0, blocked: new Set() };
      const progressEnd = Date.now() + ROUND_TIMEOUT_MS;
      while (r.paid < PROGRESS && Date.now() < progressEnd) await sleep(5);
      if (r.paid < PROGRESS) throw new Error(`Cannot start failover round ${n} as only ${r.paid} of ${PROGRESS} runs were paid in ${ROUND_TIMEOUT_MS} ms`);
      // Kill, then fail over the moment the socket closes (as a client would: it cannot know sooner).
      r.killedAtWall = Date.now();
      r.killedAt = performance.now();
      instances[0]!.kill();
      await first.closed;
      const unansweredAtKill = client.unanswered;
      await client.connect(instances[2]!.url);
      const welcomeMs = performance.now() - r.killedAt;
      const end = Date.now() + ROUND_TIMEOUT_MS;
      while (Date.now() < end && (r.times.firstAssignMs === undefined || r.times.firstSettleMs === undefined || r.times.firstNewSettleMs === undefined)) await sleep(5);
      const owner = (await owners.ownerOf(jobId)) ?? '(none)';
      const restarted = (async () => {
        await instances[0]!.exited;
        instances[0] = await startInstance(where, 'f0');
        started.push(instances[0]);
        return performance.now();
      })();
      // Claims forwarded to f0 before it died wait out CLAIM_TIMEOUT_MS (5 s), then go to the job's new owner:
      // let them land before the job ends, so they are not refused for the bench's own cancel.
      await quiet(contributors);
      rounds.push({ welcomeMs: round(welcomeMs, 1), ...roundTimes(r.times), owner, unansweredAtKill, slowestClaimMs: round(r.slowestClaimMs, 1), blockedContributors: r.blocked.size });
      current = undefined;
      await client.peer?.request({ type: 'cancel', jobId }).catch((err) => refuse('cancel', err as Error));
      await client.peer?.close();
      client = undefined;
      const upAt = await restarted;
      await quiet(contributors);
      // /healthz answers before f0 has heartbeated into the cluster, and the others read heartbeats every
      // second: wait until they count f0 alive again, or the next kill would find it already dead to them.
      await sleep(Math.max(300, upAt + RESTART_SETTLE_MS - performance.now()));
    }
  } finally {
    await Promise.all(contributors.map((c) => c.close()));
    await owners.close();
    await Promise.all(instances.map((i) => i.stop()));
  }
  const logs = await logsOf(started);
  const q = (key: keyof FailoverRound) => quantiles(rounds.map((x) => x[key]).filter((v): v is number => typeof v === 'number'));
  return {
    contributors: CONTRIBUTORS,
    rounds,
    welcome: q('welcomeMs'),
    firstAssign: q('firstAssignMs'),
    firstSettle: q('firstSettleMs'),
    firstNewSettle: q('firstNewSettleMs'),
    slowestClaim: q('slowestClaimMs'),
    refusals,
    ledger: await checkLedger(store),
    logs,
  };
}

/** Waits (at most 8 s) until no contributor has a claim in flight. */
async function quiet(contributors: BenchPeer[]): Promise<void> {
  const end = Date.now() + 8_000;
  while (Date.now() < end && contributors.some((c) => c.inFlight > 0)) await sleep(20);
}

/** Whether the lease was given after the kill (so by another instance than the dead one). */
function leasedAfterKill(lease: { expiresAt: number }, r: Round): boolean {
  return r.killedAtWall !== undefined && lease.expiresAt - LEASE_MS > r.killedAtWall;
}

function roundTimes(t: Round['times']): Partial<FailoverRound> {
  const out: Partial<FailoverRound> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined) out[k as 'firstAssignMs'] = round(v, 1);
  return out;
}

function quantiles(xs: number[]): Quantiles {
  return { p50: round(quantile(xs, 0.5), 1), p99: round(quantile(xs, 0.99), 1), max: round(Math.max(...xs), 1), n: xs.length };
}
