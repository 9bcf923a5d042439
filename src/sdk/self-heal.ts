/**
 * When a contributor stops taking work on its own, and when it starts again. One fault (a worker crash, a hung
 * task, a lost GPU device) costs the lease it hit and nothing more: the pool replaces the worker or the device
 * on the next task. Faults that keep coming mean something is wrong here (a driver, memory pressure, a broken
 * build), and a contributor taking leases only to fail them wastes everyone's time. So, on FAULT_LIMIT faults
 * within FAULT_WINDOW_MS, or when the coordinator paused it after a run of failed leases ('paused' push):
 *
 * 1. pause, saying why (the SDK's contributor state is 'paused' with that reason);
 * 2. rebuild both workers and check them with a self-test (pool.heal());
 * 3. if that passes, take work again after a cool-down that grows with each pause; if it fails, or this is the
 *    MAX_PAUSES-th pause within PAUSES_WINDOW_MS, stay paused until the user resumes.
 *
 * A pause the user made is theirs: the healer never resumes it, and a user's resume clears its history.
 */

/** Faults within FAULT_WINDOW_MS that pause the contributor. */
export const FAULT_LIMIT = 3;
/** Window of FAULT_LIMIT (ms). */
export const FAULT_WINDOW_MS = 60_000;
/** Automatic pauses within PAUSES_WINDOW_MS after which the contributor stays paused. */
export const MAX_PAUSES = 3;
/** Window of MAX_PAUSES (ms). */
export const PAUSES_WINDOW_MS = 10 * 60_000;
/** Cool-down before the 1st automatic resume; the n-th waits n times as long (ms). */
export const COOL_DOWN_MS = 5_000;

/** What the healer does to its contributor. */
export interface HealActions {
  /** Stops taking work with this reason; resolves false (and the healer stands aside) if it was not active. */
  pause(reason: string): Promise<boolean>;
  /** Replaces the workers and checks them; rejects with what failed. */
  heal(): Promise<void>;
  /** Takes work again; resolves false if the pause is no longer the healer's (the user resumed or stopped). */
  resume(): Promise<boolean>;
  /** Stays paused with a new reason (healing failed or pauses came too often). */
  stay(reason: string): void;
}

/** Options, for tests. */
export interface SelfHealOptions {
  faultLimit?: number;
  faultWindowMs?: number;
  maxPauses?: number;
  pausesWindowMs?: number;
  coolDownMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A fault as the pool reports it. */
export interface HealFault {
  lane: string;
  failure: string;
  message: string;
}

/** The policy above, for one contributor. */
export class SelfHealer {
  readonly #actions: HealActions;
  readonly #o: Required<SelfHealOptions>;
  #faults: number[] = [];
  #pauses: number[] = [];
  #busy: Promise<void> | undefined;

  constructor(actions: HealActions, opts: SelfHealOptions = {}) {
    this.#actions = actions;
    this.#o = {
      faultLimit: opts.faultLimit ?? FAULT_LIMIT,
      faultWindowMs: opts.faultWindowMs ?? FAULT_WINDOW_MS,
      maxPauses: opts.maxPauses ?? MAX_PAUSES,
      pausesWindowMs: opts.pausesWindowMs ?? PAUSES_WINDOW_MS,
      coolDownMs: opts.coolDownMs ?? COOL_DOWN_MS,
      now: opts.now ?? Date.now,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
  }

  /** The pause-heal-resume cycle in progress, if any (tests await it). */
  get busy(): Promise<void> | undefined {
    return this.#busy;
  }

  /** Counts a fault; the FAULT_LIMIT-th within the window starts a pause. */
  fault(f: HealFault): void {
    if (this.#busy) return; // faults of the workers being replaced are no news
    const now = this.#o.now();
    this.#faults = [...this.#faults.filter((t) => now - t < this.#o.faultWindowMs), now];
    if (this.#faults.length < this.#o.faultLimit) return;
    const reason = `${this.#faults.length} compute faults within ${Math.round(this.#o.faultWindowMs / 1000)} s (last: ${f.lane} ${f.failure}: ${f.message})`;
    this.#faults = [];
    this.#start(reason);
  }

  /** The coordinator paused this contributor: heal and resume as after a self-pause. */
  coordinatorPaused(reason: string, failures: number): void {
    if (this.#busy) return;
    this.#start(`paused by the coordinator after ${failures} failed leases in a row: ${reason}`);
  }

  /** Forgets the history (the user resumed, or the contributor stopped). */
  reset(): void {
    this.#faults = [];
    this.#pauses = [];
  }

  #start(reason: string): void {
    const cycle = this.#cycle(reason).finally(() => {
      if (this.#busy === cycle) this.#busy = undefined;
    });
    this.#busy = cycle;
  }

  async #cycle(reason: string): Promise<void> {
    const now = this.#o.now();
    this.#pauses = [...this.#pauses.filter((t) => now - t < this.#o.pausesWindowMs), now];
    if (!(await this.#actions.pause(reason).catch(() => false))) return;
    try {
      await this.#actions.heal();
    } catch (err) {
      this.#actions.stay(`${reason}; the self-test after restarting the workers failed: ${(err as Error)?.message ?? String(err)}`);
      return;
    }
    const n = this.#pauses.length;
    if (n >= this.#o.maxPauses) {
      this.#actions.stay(`${reason}; paused ${n} times within ${Math.round(this.#o.pausesWindowMs / 60_000)} min, so it stays paused until resumed`);
      return;
    }
    await this.#o.sleep(this.#o.coolDownMs * n);
    await this.#actions.resume().catch(() => false);
  }
}
