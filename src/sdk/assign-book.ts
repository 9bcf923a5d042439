/**
 * The coordinator's 'assign' pushes a contributor holds until the lease's client asks for the lease on the link:
 * push and request race from the coordinator, so a request waits a while (ASSIGN_WAIT_MS) for its push. A push
 * is held until a little after its lease expires.
 */
import type { AssignFrame } from './lease-runner.ts';

/** Milliseconds a `shard` request waits for its `assign` push (both race from the coordinator). */
export const ASSIGN_WAIT_MS = 5_000;

/** How long past its lease's expiry an assign push is held. */
const HOLD_PAST_EXPIRY_MS = 10_000;

/** Assign pushes by lease id, and the requests waiting for theirs. */
export class AssignBook {
  readonly #assigned = new Map<string, { frame: AssignFrame; timer: ReturnType<typeof setTimeout> }>();
  readonly #waiters = new Map<string, Set<(frame: AssignFrame | undefined) => void>>();

  /** Holds a (checked) assign push and wakes the requests waiting for it. */
  hold(frame: AssignFrame): void {
    const { leaseId, expiresAt } = frame.lease;
    const timer = setTimeout(() => this.#assigned.delete(leaseId), Math.max(expiresAt - Date.now(), 0) + HOLD_PAST_EXPIRY_MS);
    this.#assigned.set(leaseId, { frame, timer });
    for (const wake of this.#waiters.get(leaseId) ?? []) wake(frame);
    this.#waiters.delete(leaseId);
  }

  /** The held push of lease `leaseId`, if any. */
  get(leaseId: string): AssignFrame | undefined {
    return this.#assigned.get(leaseId)?.frame;
  }

  /** Forgets the push of lease `leaseId`. */
  drop(leaseId: string): void {
    const held = this.#assigned.get(leaseId);
    if (held) clearTimeout(held.timer);
    this.#assigned.delete(leaseId);
  }

  /** Forgets every held push. */
  clear(): void {
    for (const { timer } of this.#assigned.values()) clearTimeout(timer);
    this.#assigned.clear();
  }

  /** The push of lease `leaseId`, waiting at most ASSIGN_WAIT_MS for it (undefined when none came). */
  wait(leaseId: string): Promise<AssignFrame | undefined> {
    const held = this.#assigned.get(leaseId);
    if (held) return Promise.resolve(held.frame);
    return new Promise((resolve) => {
      let set = this.#waiters.get(leaseId);
      if (!set) this.#waiters.set(leaseId, (set = new Set()));
      const wake = (frame: AssignFrame | undefined) => {
        clearTimeout(timer);
        resolve(frame);
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        if (set.size === 0) this.#waiters.delete(leaseId);
        resolve(undefined);
      }, ASSIGN_WAIT_MS);
      set.add(wake);
    });
  }
}
