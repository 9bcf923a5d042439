/** Caps concurrent connections per remote address, so one host cannot exhaust the server (the listener in net/ uses it). */

/** Counts open connections per address against a cap. */
export class IpCap {
  #open = new Map<string, number>();
  constructor(readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Cannot cap connections as 'max' must be a positive integer: current value is ${max}`);
    }
  }

  /** Reserves a slot for `addr`; returns a release function, or null when the address is at its cap. */
  acquire(addr: string): (() => void) | null {
    const n = this.#open.get(addr) ?? 0;
    if (n >= this.max) return null;
    this.#open.set(addr, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(addr) ?? 1) - 1;
      if (left <= 0) this.#open.delete(addr);
      else this.#open.set(addr, left);
    };
  }

  /** Open connections from `addr`. */
  count(addr: string): number {
    return this.#open.get(addr) ?? 0;
  }
}
