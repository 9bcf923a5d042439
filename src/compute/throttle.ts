/**
 * Duty-cycle throttle: a contributor caps how much of a lane's time goes to mesh work. After a task that
 * kept the lane busy t ms at cap c, the lane idles t*(1-c)/c ms before its next task, so over time the
 * busy fraction is c. Caps are fractions in [0.05, 1]; 1 means no idling.
 */

/** Smallest cap: below 5% the idle gaps (19x the task time) make shards miss their leases. */
export const MIN_CAP = 0.05;
/** Largest cap: always busy when there is work. */
export const MAX_CAP = 1;

/** Returns `cap` if it is a number in [0.05, 1]; throws RangeError naming `name` otherwise. */
export function checkCap(name: string, cap: number): number {
  if (typeof cap !== 'number' || !Number.isFinite(cap) || cap < MIN_CAP || cap > MAX_CAP) {
    throw new RangeError(`Cannot set '${name}' as it must be a number in [${MIN_CAP}, ${MAX_CAP}]: current value is ${String(cap)}`);
  }
  return cap;
}

/** One lane's duty cycle: the cap and when the lane may start its next task. */
export class DutyCycle {
  #cap: number;
  #readyAt = 0;

  /** A duty cycle at `cap` (default 1). */
  constructor(cap = 1, name = 'cap') {
    this.#cap = checkCap(name, cap);
  }

  /** The current cap. */
  get cap(): number {
    return this.#cap;
  }

  /** Changes the cap; applies from the next task that ends. */
  set cap(cap: number) {
    this.#cap = checkCap('cap', cap);
  }

  /** Idle time owed after `busyMs` of work at the current cap: busyMs * (1 - cap) / cap. */
  idleAfter(busyMs: number): number {
    if (!(busyMs >= 0)) throw new RangeError(`Cannot compute idle time as 'busyMs' must be >= 0: current value is ${busyMs}`);
    return (busyMs * (1 - this.#cap)) / this.#cap;
  }

  /** Records a task that ran from `startMs` to `endMs` (performance.now() clock). */
  record(startMs: number, endMs: number): void {
    this.#readyAt = endMs + this.idleAfter(Math.max(0, endMs - startMs));
  }

  /** Milliseconds to wait, from `nowMs`, before the next task may start. */
  waitMs(nowMs = performance.now()): number {
    return Math.max(0, this.#readyAt - nowMs);
  }
}
