/**
 * The market's parts wired together (see market.ts): each part gets the shared state, the market's outlets and
 * the market's own run-level operations as callbacks (MarketHooks), so the parts never import the market.
 */
import type { LeaseFailure } from '../../src/protocol/coordinator.ts';
import { assignRun, type AssignDeps } from './assign.ts';
import type { JobBook } from './book.ts';
import type { CapacityBook } from './capacity.ts';
import type { JobEndDeps } from './job-end.ts';
import { RunClaims } from './claims.ts';
import { ContributorSessions } from './contributor-sessions.ts';
import type { ContributorRegistry } from './contributors.ts';
import type { Credibility } from './credibility.ts';
import type { FinalState, Job } from './job.ts';
import { LeaseFailures } from './lease-failures.ts';
import type { MarketDeps } from './market-deps.ts';
import { Payments } from './payments.ts';
import { type VerdictDeps, waiveVerification } from './verdicts.ts';
import { MarketPersistence } from './persistence.ts';
import type { InFlight } from './in-flight.ts';
import { JobWaits } from './waits.ts';
import type { RttBook } from './rtt.ts';
import type { ResultCache } from './result-cache.ts';
import { MatchingRounds } from './round.ts';
import type { Speculation } from './speculation.ts';
import { Pipelines } from './pipelines.ts';

/** The market's state the parts share. */
export interface MarketState {
  registry: ContributorRegistry;
  credibility: Credibility;
  runs: InFlight;
  book: JobBook;
  random: () => number;
  cache: ResultCache;
  capacity: CapacityBook;
  rtt: RttBook;
  speculation: Speculation;
}

/** The market's own operations the parts call back. */
export interface MarketHooks {
  release: (leaseId: string, reason: string, revoke: boolean, failure?: LeaseFailure) => boolean;
  releaseAll: (peerId: string, reason: string, revoke: boolean) => void;
  afterChange: (job: Job, i: number) => void;
  schedule: () => void;
  finishLater: (job: Job, state: FinalState) => void;
  finalize: (job: Job, state: FinalState) => Promise<void>;
  failJob: (job: Job, code: NonNullable<Job['reason']>['code'], message: string) => void;
  detach: (job: Job) => void;
  matchable: () => readonly Job[];
}

/** The wired parts. */
export interface MarketParts {
  failures: LeaseFailures;
  persist: MarketPersistence | undefined;
  pipes: Pipelines;
  verdictDeps: VerdictDeps;
  waits: JobWaits;
  payments: Payments;
  rounds: MatchingRounds;
  endDeps: JobEndDeps;
  sessions: ContributorSessions;
  claims: RunClaims;
}

/** Builds the market's parts; callbacks between parts resolve when called, after every part exists. */
export function wireMarket(deps: MarketDeps, state: MarketState, hooks: MarketHooks): MarketParts {
  const p = {} as MarketParts;
  // What most parts share: the market's state, its outlets, and the three things every change may call.
  const common = {
    registry: state.registry, credibility: state.credibility, runs: state.runs, book: state.book, random: state.random,
    log: deps.log, metrics: deps.metrics, notify: deps.notify,
    release: hooks.release,
    afterChange: (job: Job, i: number) => hooks.afterChange(job, i),
    schedule: () => hooks.schedule(),
  };
  p.failures = new LeaseFailures({
    ...common,
    ...(deps.failureBackoffMs ? { backoffMs: deps.failureBackoffMs } : {}),
    releaseAll: hooks.releaseAll,
    failJob: hooks.failJob,
  });
  if (deps.store) {
    const persist = p.persist = new MarketPersistence(deps.store, deps.log, deps.instanceId ?? '');
    state.credibility.onChange = (peerId, record) => persist.recordChanged(peerId, record);
    persist.onLost = (job) => hooks.detach(job);
  }
  p.pipes = new Pipelines({
    job: (jobId) => state.book.get(jobId),
    present: (peerId) => state.registry.get(peerId) !== undefined,
    contributor: (peerId) => state.registry.get(peerId),
    active: () => state.registry.taking(),
    notify: deps.notify,
    afterChange: (job, i) => hooks.afterChange(job, i),
    schedule: () => hooks.schedule(),
    finishLater: hooks.finishLater,
    failJob: (job, message) => hooks.failJob(job, 'transfer-failed', message),
    log: deps.log,
  });
  p.verdictDeps = {
    ...common,
    decided: (job, i, hash) => p.pipes.decided(job, i, hash),
    holdOpen: (job) => p.pipes.holdOpen(job),
    forget: (job, shard, run) => state.runs.forget({ job, shard, run }),
    pay: (job, shard, run, basis) => p.payments.pay(job, shard, run, basis),
    finishLater: hooks.finishLater,
    verified: (job, i, hash, holders) => {
      const key = job.shards[i]!.cacheKey;
      if (key !== undefined) state.cache.record(key, hash, holders);
    },
  };
  p.waits = new JobWaits({
    // Active contributors only (the registry's index): the pass skips the others anyway.
    registry: () => state.registry.taking(),
    jobs: hooks.matchable,
    notify: deps.notify,
    replicaWaitMs: deps.replicaWaitMs,
  });
  p.payments = new Payments(deps, (job, i, run, paid) => p.claims.paid(job, i, run, paid), (job) => state.book.record(job));
  const assignDeps: AssignDeps = {
    ...common,
    leaseMs: deps.leaseMs,
    expired: (ref) => p.failures.expired(ref),
    pipePart: (job, i, contributor) => p.pipes.assignPart(job, i, contributor),
  };
  p.rounds = new MatchingRounds({
    ...common,
    cache: state.cache,
    speculation: state.speculation,
    replicaWaitMs: deps.replicaWaitMs,
    rtt: (client) => state.rtt.confirmed(client),
    anyRunning: () => state.book.runningCount > 0,
    matchable: hooks.matchable,
    assign: (job, i, contributor, price, opts) => assignRun(assignDeps, job, i, contributor, price, opts),
    waive: (job, shard) => waiveVerification(p.verdictDeps, job, shard),
    poke: () => p.waits.poke(),
    affinity: (job) => p.pipes.affinity(job),
    gate: (job) => p.pipes.gate(job),
  });
  p.endDeps = { ...common, payments: p.payments, persist: p.persist, ended: (job, state) => p.pipes.ended(job, state) };
  p.sessions = new ContributorSessions({
    ...common,
    failures: p.failures,
    rtt: state.rtt,
    clientGraceMs: deps.clientGraceMs,
    online: deps.online,
    releaseAll: hooks.releaseAll,
    finalize: hooks.finalize,
  });
  p.claims = new RunClaims({
    ...common,
    failures: p.failures,
    speculation: state.speculation,
    capacity: state.capacity,
    payments: p.payments,
    persist: p.persist,
    claimWindowMs: deps.claimWindowMs,
  });
  return p;
}
