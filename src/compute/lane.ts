/**
 * A lane: one worker's FIFO queue. Tasks run one at a time in arrival order, with the lane's duty cycle
 * enforced between them. A failed lane (worker crashed or pool terminated) rejects what is queued and
 * running, and every later task, with the error it failed with.
 */
import { DutyCycle } from './throttle.ts';

interface Queued {
  job: () => Promise<unknown>;
  throttled: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

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

  /** Queues `job`; `throttled: false` (e.g. the probe) runs it without billing the duty cycle. */
  run<T>(job: () => Promise<T>, opts: { throttled?: boolean } = {}): Promise<T> {
    if (this.#failed) return Promise.reject(this.#failed.err);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, throttled: opts.throttled ?? true, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#pumping) void this.#pump();
    });
  }

  /** Fails the lane: everything queued or running rejects with `err`, and so does every later run(). */
  fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = { err };
    const all = [...(this.#running ? [this.#running] : []), ...this.#queue.splice(0)];
    this.#running = undefined;
    for (const q of all) q.reject(err);
    this.#wake?.();
  }

  // #pumping drops in the same synchronous step as the final empty-queue check (no await between them),
  // or a run() arriving in between would queue behind a pump that is already leaving.
  async #pump(): Promise<void> {
    this.#pumping = true;
    while (!this.#failed && this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (next.throttled) await this.#idle();
      if (this.#failed) break;
      this.#queue.shift();
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
