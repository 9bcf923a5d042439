/**
 * A lane: one worker's FIFO queue. Tasks run one at a time in arrival order, with the lane's duty cycle
 * enforced between them. A task may carry a deadline (its lease's expiry): one still queued when it passes
 * rejects with MeshError 'timeout' and never runs; one already running is the worker's business (see
 * supervisor.ts, which restarts a worker whose task outlives its deadline). A failed lane (the pool was
 * terminated) rejects what is queued and running, and every later task, with the error it failed with.
 */
import { MeshError } from '../protocol/errors.ts';
import { DutyCycle } from './throttle.ts';

/** Options of one lane task. */
export interface LaneTaskOptions {
  /** Run it without waiting for or billing the duty cycle (the probe, self-tests). Default true. */
  throttled?: boolean;
  /** Time (ms since the epoch) after which the task is useless: if it has not started by then it rejects. */
  deadline?: number | undefined;
}

interface Queued {
  job: () => Promise<unknown>;
  throttled: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** setTimeout's longest delay; later deadlines are checked again when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** A FIFO queue in front of one worker. */
export class Lane {
  /** Name used in messages ('gpu', 'onnx'). */
  readonly name: string;
  /** The lane's duty cycle; change `duty.cap` to re-cap it. */
  readonly duty: DutyCycle;
  readonly #queue: Queued[] = [];
  #running: Queued | undefined;
  #failed: { err: unknown } | undefined;
  #pumping = false;
  #wake: (() => void) | undefined;

  /** A lane capped at `cap` (fraction of time busy, 0.05..1). */
  constructor(name: string, cap = 1) {
    this.name = name;
    this.duty = new DutyCycle(cap, `${name} cap`);
  }

  /** Tasks waiting or running. */
  get size(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** Queues `job`; see LaneTaskOptions for `throttled` and `deadline`. */
  run<T>(job: () => Promise<T>, opts: LaneTaskOptions = {}): Promise<T> {
    if (this.#failed) return Promise.reject(this.#failed.err);
    const { deadline } = opts;
    if (deadline !== undefined && deadline <= Date.now()) return Promise.reject(this.#lateError(deadline, 0));
    return new Promise<T>((resolve, reject) => {
      const q: Queued = { job, throttled: opts.throttled ?? true, resolve: resolve as (v: unknown) => void, reject };
      this.#queue.push(q);
      if (deadline !== undefined) this.#expireAt(q, deadline, Date.now());
      if (!this.#pumping) void this.#pump();
    });
  }

  /** Fails the lane: everything queued or running rejects with `err`, and so does every later run(). */
  fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = { err };
    const all = [...(this.#running ? [this.#running] : []), ...this.#queue.splice(0)];
    this.#running = undefined;
    for (const q of all) {
      clearTimeout(q.timer);
      q.reject(err);
    }
    this.#wake?.();
  }

  /** Takes `q` out of the queue at `deadline` if it is still waiting there. */
  #expireAt(q: Queued, deadline: number, queuedAt: number): void {
    q.timer = setTimeout(() => {
      if (Date.now() < deadline) return this.#expireAt(q, deadline, queuedAt);
      const at = this.#queue.indexOf(q);
      if (at < 0) return;
      this.#queue.splice(at, 1);
      q.reject(this.#lateError(deadline, Date.now() - queuedAt));
    }, Math.min(Math.max(deadline - Date.now(), 0), MAX_DELAY_MS));
  }

  #lateError(deadline: number, waitedMs: number): MeshError {
    const ahead = this.size;
    return new MeshError('timeout', `Cannot start a task on the ${this.name} lane before its deadline (${new Date(deadline).toISOString()}): it waited ${waitedMs} ms behind ${ahead} other task(s)`);
  }

  // #pumping drops in the same synchronous step as the final empty-queue check (no await between them),
  // or a run() arriving in between would queue behind a pump that is already leaving.
  async #pump(): Promise<void> {
    this.#pumping = true;
    while (!this.#failed && this.#queue.length > 0) {
      if (this.#queue[0]!.throttled) await this.#idle();
      if (this.#failed) break;
      // The head may have expired while the lane idled: take whatever is first now.
      const next = this.#queue.shift();
      if (!next) break;
      clearTimeout(next.timer);
      this.#running = next;
      const start = performance.now();
      try {
        next.resolve(await next.job());
      } catch (err) {
        next.reject(err);
      }
      if (this.#running !== next) break; // failed meanwhile: already rejected
      this.#running = undefined;
      if (next.throttled) this.duty.record(start, performance.now());
    }
    this.#pumping = false;
  }

  async #idle(): Promise<void> {
    const ms = this.duty.waitMs();
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }
}
