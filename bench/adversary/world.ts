/**
 * The mesh in one process: the real Market on a real in-memory KvLedger, with `notify` delivering each frame
 * to a simulated peer on a microtask (never re-entering the market from inside one of its calls). Outputs go
 * from contributor to client directly, as the peer-to-peer link would carry them. The world also watches the
 * frames go by to count what the report needs: verdicts (right or wrong), claims, payments for wrong claims.
 */
import type { ContributorLease, ServerFrame } from '../../src/protocol/coordinator.ts';
import { FEE_RATE, STARTER_CREDITS } from '../../src/core/cost.ts';
import { openLedger, type KvLedger } from '../../coordinator/ledger/kv-ledger.ts';
import { Market } from '../../coordinator/market/market.ts';
import { STRANGERS } from '../../coordinator/market/credibility.ts';
import { createLogger } from '../../coordinator/log.ts';
import { Metrics } from '../../coordinator/metrics.ts';
import { honestHash } from './hashes.ts';

/** Any base64url text: the session verifies signatures before the market is called, the market only stores them. */
export const SIGNATURE = 'c2ltdWxhdGVkLXNpZ25hdHVyZQ';

/** The market's timers in the simulation: short, so a mix runs in seconds, and far above the simulated delays. */
export const TIMERS = { leaseMs: 500, claimWindowMs: 200, replicaWaitMs: 300 } as const;
/** Time for outputs to reach the client after the claim is recorded. */
export const TRANSFER_MS = 1;
/** How long a client waits for outputs that never come before it complains ('transfer-failed'). */
export const TRANSFER_TIMEOUT_MS = 5;

/** A simulated peer that receives the coordinator's pushes. */
export interface SimPeer {
  readonly id: string;
  onFrame(frame: ServerFrame): void;
}

/** A client, as contributors reach it over the peer-to-peer link. */
export interface OutputSink extends SimPeer {
  onOutput(lease: ContributorLease, outputHash: string): void;
  onTransferFailed(lease: ContributorLease): void;
}

/** What the world counted while a mix ran. */
export class Counts {
  /** Shards the coordinator decided (a verdict with a hash). */
  finished = 0;
  /** ... whose hash is not the honest one. */
  wrong = 0;
  /** ... of which two runs agreed on the wrong hash (the rest were accepted unverified: a spot check missed). */
  wrongVerified = 0;
  /** Verdicts that waived verification (no eligible verifier on another network). */
  waived = 0;
  assignments = 0;
  /** Claims the market recorded, by any contributor. */
  claims = 0;
  saboteurClaims = 0;
  wrongClaims = 0;
  /** Micro-credits paid for runs whose claim was wrong. */
  paidForWrong = 0;
  /** Claims the market refused (lease expired, revoked or settled before the claim arrived). */
  lateClaims = 0;
  /** Receipts and complaints the market refused (run already paid, rejected or released). */
  refused = 0;
  /** Verdicts on jobs no longer running, which the report cannot judge (none expected). */
  unjudged = 0;
  readonly #claimsByShard = new Map<string, number>();
  readonly #decided = new Set<string>();
  readonly #wrongLeases = new Set<string>();

  /** Records a claim the market accepted. */
  claimed(key: string, leaseId: string, saboteur: boolean, wrong: boolean): void {
    this.claims++;
    if (saboteur) this.saboteurClaims++;
    if (wrong) {
      this.wrongClaims++;
      this.#wrongLeases.add(leaseId);
    }
    this.#claimsByShard.set(key, (this.#claimsByShard.get(key) ?? 0) + 1);
  }

  /** Records a decided shard (the claim that decided it is counted just after its verdict went out). */
  decided(key: string, wrong: boolean, verified: boolean): void {
    this.finished++;
    if (wrong) this.wrong++;
    if (wrong && verified) this.wrongVerified++;
    this.#decided.add(key);
  }

  /** Claims recorded on decided shards, for the overhead. */
  get claimsOnDecided(): number {
    let n = 0;
    for (const key of this.#decided) n += this.#claimsByShard.get(key) ?? 0;
    return n;
  }

  /** Records a payment. */
  credited(leaseId: string, amount: number): void {
    if (this.#wrongLeases.has(leaseId)) this.paidForWrong += amount;
  }
}

/** The market, its ledger and the simulated peers of one mix. */
export class World {
  readonly peers = new Map<string, SimPeer>();
  readonly counts = new Counts();
  readonly metrics = new Metrics();
  readonly market: Market;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(readonly ledger: KvLedger) {
    this.market = new Market({
      ledger,
      notify: (peerId, frame) => this.#notify(peerId, frame),
      feeRate: FEE_RATE,
      ...TIMERS,
      log: createLogger('silent'),
      metrics: this.metrics,
      trust: STRANGERS,
    });
  }

  /** A world with a fresh in-memory ledger (every new account gets the starter credits). */
  static async open(): Promise<World> {
    return new World(await openLedger({ path: ':memory:', starterCredits: STARTER_CREDITS }));
  }

  /** Runs `fn` after `ms`; `close` cancels what has not run. */
  later(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  /** Cancels a timer set with `later`. */
  cancel(t: ReturnType<typeof setTimeout> | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  /** Outputs of `lease` reach its client after TRANSFER_MS. */
  deliver(lease: ContributorLease, outputHash: string): void {
    this.later(() => this.#sink(lease.client)?.onOutput(lease, outputHash), TRANSFER_MS);
  }

  /** The client of `lease` gives up waiting for outputs after TRANSFER_TIMEOUT_MS. */
  failTransfer(lease: ContributorLease): void {
    this.later(() => this.#sink(lease.client)?.onTransferFailed(lease), TRANSFER_TIMEOUT_MS);
  }

  /** Cancels pending timers and closes the ledger. */
  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.ledger.close();
  }

  #sink(peerId: string): OutputSink | undefined {
    const p = this.peers.get(peerId);
    return p && 'onOutput' in p ? (p as OutputSink) : undefined;
  }

  #notify(peerId: string, frame: ServerFrame): boolean {
    const peer = this.peers.get(peerId);
    if (!peer) return false;
    this.#observe(frame);
    queueMicrotask(() => peer.onFrame(frame));
    return true;
  }

  #observe(frame: ServerFrame): void {
    if (frame.type === 'assign') this.counts.assignments++;
    else if (frame.type === 'credited') this.counts.credited(frame.leaseId, frame.amount);
    else if (frame.type === 'verdict') {
      if (frame.outputHash === undefined) {
        this.counts.waived++;
        return;
      }
      // Verdicts are sent while the job is still running, so its spec is at hand (a throw here would land
      // inside the market's call, so a verdict that cannot be judged is counted instead).
      const spec = this.market.job(frame.jobId)?.shards[frame.shard]?.spec;
      if (!spec) {
        this.counts.unjudged++;
        return;
      }
      this.counts.decided(`${frame.jobId}:${frame.shard}`, frame.outputHash !== honestHash(spec.inputHash), frame.state === 'verified');
    }
  }
}
