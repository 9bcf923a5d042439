/**
 * A virtual clock for the simulator: `setTimeout`, `clearTimeout`, `Date.now` and `performance.now` are
 * replaced on globalThis while it is installed, so the real market's timers (lease expiry, claim windows,
 * matching rounds) fire in simulated time, in order, as fast as the CPU allows. This is the only seam the
 * simulator needs: the market code is not changed, it reads the clock through the globals it already uses.
 * `realNow` keeps the real `performance.now` for measuring the coordinator's CPU.
 */
import { BinaryHeap } from '../../src/core/binary-heap.ts';

/** The real monotonic clock (ms), captured before any fake is installed. */
export const realNow: () => number = performance.now.bind(performance);
/** The real setTimeout, for yielding to I/O while the fake is installed. */
export const realSetTimeout: typeof setTimeout = globalThis.setTimeout.bind(globalThis);

interface Timer {
  at: number;
  seq: number;
  id: number;
  fn: () => void;
}

/** A min-heap of timers by (at, seq), with cancelled timers dropped lazily. */
export class VirtualClock {
  now: number;
  readonly #heap = new BinaryHeap<Timer>(before);
  readonly #live = new Set<number>();
  #seq = 0;
  #saved: { setTimeout: unknown; clearTimeout: unknown; dateNow: () => number; perfNow: () => number } | undefined;
  /** Called around every timer callback (the simulator times the market's own timers with it). */
  wrap: (fn: () => void) => void = (fn) => fn();

  constructor(readonly epoch = Date.UTC(2025, 0, 1)) {
    this.now = epoch;
  }

  /** Schedules `fn` after `ms` virtual milliseconds; returns its id. */
  setTimeout(fn: () => void, ms = 0): number {
    const id = ++this.#seq;
    this.#heap.push({ at: this.now + Math.max(0, Number(ms) || 0), seq: id, id, fn });
    this.#live.add(id);
    return id;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === 'number') this.#live.delete(id);
  }

  /** Timers pending. */
  get pending(): number {
    return this.#live.size;
  }

  /** Time of the next live timer, or undefined. */
  peek(): number | undefined {
    this.#dropDead();
    return this.#heap.peek()?.at;
  }

  /** Advances to the next live timer and runs it; false when none is left. */
  step(): boolean {
    this.#dropDead();
    const t = this.#heap.pop();
    if (!t) return false;
    this.#live.delete(t.id);
    this.now = Math.max(this.now, t.at);
    this.wrap(t.fn);
    return true;
  }

  /** Replaces the timer and clock globals with this clock. */
  install(): void {
    if (this.#saved) return;
    const g = globalThis as unknown as Record<string, unknown>;
    this.#saved = { setTimeout: g.setTimeout, clearTimeout: g.clearTimeout, dateNow: Date.now, perfNow: performance.now };
    g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => this.setTimeout(() => fn(...args), ms);
    g.clearTimeout = (id: unknown) => this.clearTimeout(id);
    Date.now = () => Math.floor(this.now);
    performance.now = () => this.now - this.epoch;
  }

  /** Puts the real globals back. */
  uninstall(): void {
    const s = this.#saved;
    if (!s) return;
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = s.setTimeout;
    g.clearTimeout = s.clearTimeout;
    Date.now = s.dateNow;
    performance.now = s.perfNow;
    this.#saved = undefined;
  }

  #dropDead(): void {
    while (this.#heap.size > 0 && !this.#live.has(this.#heap.peek()!.id)) this.#heap.pop();
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
