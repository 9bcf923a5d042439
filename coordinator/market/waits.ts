/**
 * Why a job waits. After matching rounds (at most once per WAIT_PASS_MS) the market looks at each running job
 * whose shards are still queued and explains why one of them waits: nobody online, nobody able to run it, every able
 * contributor asking more than the bid, all of them busy (and how many jobs are ahead), a verification waiting
 * for a second contributor, or a retry pause after failures. The explanation goes to the client as a `waiting`
 * push when it changes, and into the job's status.
 *
 * Bounded: a pass explains at most WAIT_JOBS_PER_PASS jobs (the first in priority order, who are next anyway),
 * one queued shard of each, and looks at most at WAIT_SCAN_LIMIT contributors for each.
 */
import { ineligibility, type MatchContributor } from '../../src/core/matcher.ts';
import { perShard } from '../../src/core/kernels/index.ts';
import { type JobWait, type ServerFrame, WAIT_SCAN_LIMIT } from '../../src/protocol/coordinator.ts';
import { busy, type Contributor } from './contributors.ts';
import type { Job } from './job.ts';

/** Shortest time between two passes. */
export const WAIT_PASS_MS = 1_000;
/** Jobs explained per pass. */
export const WAIT_JOBS_PER_PASS = 64;

/** What explaining waits needs. */
export interface WaitDeps {
  /** Every registered contributor. */
  registry: () => Iterable<Contributor>;
  /** Running jobs in priority order (those whose client is online). */
  jobs: () => readonly Job[];
  notify: (peerId: string, frame: ServerFrame) => boolean;
  /** How long a verification may find no contributor before it is waived. */
  replicaWaitMs: number;
}

/** Explains waits to clients. */
export class JobWaits {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0;
  #closed = false;

  constructor(readonly deps: WaitDeps) {}

  /** Something changed (a round ran, a job came or went): run a pass soon, at most one per WAIT_PASS_MS. */
  poke(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const delay = Math.max(0, this.#last + WAIT_PASS_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#last = Date.now();
      this.pass(this.#last);
    }, delay);
  }

  stop(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Explains the wait of each running job with queued shards, and tells clients what changed. */
  pass(now: number): void {
    let ahead = 0;
    let explained = 0;
    let again = false;
    const memo: WaitMemo = new Map();
    for (const job of this.deps.jobs()) {
      if (job.state !== 'running') continue;
      const first = job.pending.values().next();
      if (first.done) {
        this.#set(job, undefined);
        continue;
      }
      if (explained++ >= WAIT_JOBS_PER_PASS) break;
      const wait = explain(job, first.value, ahead + 1, this.deps, now, memo);
      this.#set(job, wait);
      if (wait.code === 'busy' || wait.code === 'verifier' || wait.code === 'retry-backoff') ahead++;
      again = true;
    }
    // Waits change with time too (ETAs, waivers, back-offs): look again while any job waits.
    if (again) this.poke();
  }

  /** Records a job's wait and tells its client when it changed. */
  #set(job: Job, wait: JobWait | undefined): void {
    if (!changed(job.wait, wait)) return;
    if (wait) job.wait = wait;
    else delete job.wait;
    this.deps.notify(job.client, { type: 'waiting', jobId: job.jobId, wait: wait ?? null });
  }
}

/** Whether telling `next` after `prev` says something new (an ETA must move by a quarter to count). */
function changed(prev: JobWait | undefined, next: JobWait | undefined): boolean {
  if (!prev || !next) return prev !== next;
  const { etaMs: a, ...p } = prev;
  const { etaMs: b, ...n } = next;
  if (JSON.stringify(p) !== JSON.stringify(n)) return true;
  if ((a === undefined) !== (b === undefined)) return true;
  return a !== undefined && b !== undefined && Math.abs(a - b) > Math.max(1_000, a / 4);
}

/**
 * What a pass learned about the contributors for one kind of run: the active ones, and among the first
 * WAIT_SCAN_LIMIT of them those able to run it (capabilities only). Jobs of one kernel kind share it (for per-shard
 * kinds such as WGSL, each shard has its own: buffers must fit), so a pass scans the registry once per kind, not once per job.
 */
interface Scan {
  online: number;
  capable: Contributor[];
  lowestAsk: number | undefined;
  why: string | null;
  /** By bid: those asking at most it, and their free slots. */
  byBid: Map<number, { affordable: Contributor[]; freeSlots: number }>;
}

/** A pass's scans by kind of run (see `Scan`). */
export type WaitMemo = Map<string, Scan>;

function scan(job: Job, i: number, registry: Iterable<Contributor>): Scan {
  const run = {
    jobId: job.jobId,
    shard: i,
    bid: Number.MAX_SAFE_INTEGER,
    submittedAt: job.submittedAt,
    seq: job.seq,
    kernel: job.spec.kernel,
    spec: job.shards[i]!.spec,
    exclude: new Set<string>(),
    role: 'primary' as const,
    avoidNetworks: new Set<string>(),
    credibleOnly: false,
  };
  let online = 0;
  let scanned = 0;
  let why: string | null = null;
  const capable: Contributor[] = [];
  for (const c of registry) {
    if (c.state !== 'active') continue;
    online++;
    if (++scanned > WAIT_SCAN_LIMIT) continue;
    const view: MatchContributor = { peerId: c.peerId, caps: c.caps, askPrice: 0, maxConcurrent: c.maxConcurrent, load: 0, reputation: 0, network: c.placement, credible: false };
    const no = ineligibility(view, run);
    if (no !== null) why ??= no;
    else capable.push(c);
  }
  let lowestAsk: number | undefined;
  for (const c of capable) lowestAsk = lowestAsk === undefined ? c.askPrice : Math.min(lowestAsk, c.askPrice);
  return { online, capable, lowestAsk, why, byBid: new Map() };
}

/** Explains why shard `i` of `job` waits (`memo`: scans shared by the jobs of one pass). */
export function explain(job: Job, i: number, position: number, deps: Pick<WaitDeps, 'registry' | 'replicaWaitMs'>, now: number, memo: WaitMemo = new Map()): JobWait {
  const s = job.shards[i]!;
  const bid = job.spec.bid;
  const kind = job.spec.kernel.kind;
  const key = perShard(kind) ? `${job.jobId}\u0000${i}` : kind;
  let found = memo.get(key);
  if (!found) {
    found = scan(job, i, deps.registry());
    memo.set(key, found);
  }
  const { online, capable: able, lowestAsk, why } = found;
  let priced = found.byBid.get(bid);
  if (!priced) {
    const affordable = able.filter((c) => c.askPrice <= bid);
    let freeSlots = 0;
    for (const c of affordable) freeSlots += Math.max(0, c.maxConcurrent - busy(c).load);
    priced = { affordable, freeSlots };
    found.byBid.set(bid, priced);
  }
  const capable = able.length;
  const affordable = priced.affordable.length;
  const freeSlots = priced.freeSlots;
  const excluded = job.exclusions(i, now);
  const verifying = job.nextRole(i) !== 'primary';
  const avoid = verifying ? job.networks(i) : new Set<string>();
  const open = priced.affordable.some((c) => !excluded.has(c.peerId) && !avoid.has(c.placement)) ? 1 : 0;
  const waiting = job.pending.size;
  const base = { online, capable, affordable, bid, waiting, ...(lowestAsk !== undefined ? { lowestAsk } : {}) };
  const contributors = (n: number) => `${n} contributor${n === 1 ? '' : 's'}`;
  if (online === 0) {
    return { code: 'no-contributors', message: 'No contributor is online; the job starts as soon as one joins.', ...base };
  }
  if (capable === 0) {
    return { code: 'no-capable', message: `None of the ${contributors(online)} online can run this job (${why ?? 'not capable'}).`, ...base };
  }
  if (affordable === 0) {
    return {
      code: 'bid-below-ask',
      message: `The bid, ${bid} µcredits per work unit, is below the lowest ask (${lowestAsk} µcredits per work unit) of the ${contributors(capable)} able to run this job.`,
      ...base,
    };
  }
  if (open === 0 && verifying && s.verify && !s.waived) {
    const left = s.unplacedSince !== undefined ? Math.max(0, s.unplacedSince + deps.replicaWaitMs - now) : undefined;
    const then = left !== undefined ? ` If none comes within ${Math.ceil(left / 1000)} s, it runs unverified and is marked so.` : '';
    return { code: 'verifier', message: `Shard ${i} waits for a second contributor, on another network, to verify it.${then}`, ...base, position, ...(left !== undefined ? { etaMs: left } : {}) };
  }
  if (open === 0 && s.failures && s.failures.size > 0) {
    let until = Infinity;
    for (const f of s.failures.values()) if (f.until > now) until = Math.min(until, f.until);
    const left = Number.isFinite(until) ? until - now : undefined;
    const after = left !== undefined ? ` in ${Math.ceil(left / 1000)} s` : '';
    return { code: 'retry-backoff', message: `Shard ${i} failed on every contributor able to run it; it is retried${after}.`, ...base, position, ...(left !== undefined ? { etaMs: left } : {}) };
  }
  const eta = estimate(job, freeSlots);
  const ahead = position > 1 ? `; ${position - 1} job${position === 2 ? ' is' : 's are'} ahead of this one` : '';
  return {
    code: 'busy',
    message: `${waiting} shard${waiting === 1 ? '' : 's'} queued: the ${contributors(affordable)} able to run this job ${affordable === 1 ? 'is' : 'are'} busy${ahead}.`,
    ...base,
    position,
    ...(eta !== undefined ? { etaMs: eta } : {}),
  };
}

/** Milliseconds until `job` is done at its measured pace, with its runs in flight plus `freeSlots` in parallel. */
function estimate(job: Job, freeSlots: number): number | undefined {
  const { count, totalMs } = job.runTimes;
  if (count === 0) return undefined;
  const left = job.shards.length - job.doneCount;
  const inFlight = left - job.pending.size;
  const parallel = Math.max(1, inFlight + freeSlots);
  return Math.round(Math.ceil(left / parallel) * (totalMs / count));
}
