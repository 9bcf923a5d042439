/**
 * A service as one payer uses it: `infer()` from any number of callers at once. Each request goes to the
 * replica with the fewest of this handle's requests in flight; a 'busy' answer sets that replica aside until
 * its retry-after and the request tries another replica (or waits for the first to come free); a replica that
 * fails mid-request (its page closed, its link dropped, its lease revoked) is set aside and the request is sent
 * again elsewhere, so a request is lost only when no replica answers before its timeout. A fraction
 * (`spotCheck`) of requests also goes to a second replica on another contributor and the two answers are
 * compared within the tolerance; a mismatch goes to the coordinator (spot-check.ts). Receipts follow the
 * answers (serve-receipts.ts). Events: 'replicas' (the replicas changed), 'closed', 'mismatch'.
 */
import { sha256Hex } from '../../core/hash.ts';
import { compareOutputs, type Tolerance } from '../../core/verify.ts';
import type { PushFrame } from '../../mesh/coordinator-client.ts';
import { RemoteFailure } from '../../mesh/lease-inbox.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { ServeLease, ServiceStatus } from '../../protocol/serving.ts';
import { inputBytes, toOutputTensor } from '../job-plan.ts';
import type { SessionContext } from '../session.ts';
import type { InputTensor, OutputTensor } from '../types.ts';
import { exchange, type PreparedRequest } from './serve-request.ts';
import { ServeReceipts } from './serve-receipts.ts';
import { type ServeStats, ServeStatsRecorder } from './serve-stats.ts';
import { arbitrateMismatch } from './spot-check.ts';

/** How long a replica that failed a request is set aside (ms). */
const FAILED_PAUSE_MS = 1_000;
/** Sends of one request at most (busy answers and failures together). */
const MAX_ATTEMPTS = 64;
/** Model failures of one request (on any replicas) after which it fails: the input, not a replica, is at fault. */
const MAX_MODEL_FAILURES = 2;

/** Options of a handle that the opener chose (joiners read them from the service). */
export interface HandleOptions {
  spotCheck: number;
  tolerance: Tolerance;
  timeoutMs: number;
}

interface ReplicaState {
  lease: ServeLease;
  inFlight: number;
  /** Set aside until (performance.now() ms). */
  until: number;
}

/** A payer's handle on a service. */
export class ServiceHandle extends EventTarget {
  readonly serviceId: string;
  readonly #ctx: SessionContext;
  readonly #opts: HandleOptions;
  readonly #replicas = new Map<string, ReplicaState>();
  readonly #receipts: ServeReceipts;
  readonly #stats = new ServeStatsRecorder();
  readonly #listeners: [string, EventListener][] = [];
  #status: ServiceStatus;
  #closed: Error | undefined;
  /** Wakes requests waiting for a replica to appear or come free. */
  #wake: (() => void)[] = [];

  constructor(ctx: SessionContext, status: ServiceStatus, opts: HandleOptions) {
    super();
    this.#ctx = ctx;
    this.serviceId = status.serviceId;
    this.#status = status;
    this.#opts = opts;
    this.#receipts = new ServeReceipts(ctx);
    this.#setReplicas(status.replicas);
    const on = <T extends PushFrame['type']>(type: T, fn: (f: Extract<PushFrame, { type: T }>) => void) => {
      const listener = (e: Event) => fn((e as CustomEvent<Extract<PushFrame, { type: T }>>).detail);
      ctx.coordinator.addEventListener(type, listener);
      this.#listeners.push([type, listener]);
    };
    on('serve-replicas', (f) => {
      if (f.serviceId === this.serviceId) this.#setReplicas(f.replicas);
    });
    on('serve-closed', (f) => {
      if (f.serviceId !== this.serviceId) return;
      this.#status = f.status;
      this.#end(new MeshError('cancelled', `Cannot use service ${this.serviceId} as it closed: ${f.status.reason ?? 'closed'}`));
    });
  }

  /** The replicas requests go to now. */
  get replicas(): ServeLease[] {
    return [...this.#replicas.values()].map((r) => ({ ...r.lease }));
  }

  /** The service as the coordinator last described it to this payer. */
  get status(): ServiceStatus {
    return this.#status;
  }

  /** Latency, throughput, queue depth and batching measured so far. */
  stats(): ServeStats {
    return this.#stats.snapshot();
  }

  /** Micro-credits this handle's receipts paid so far (contributors' pay plus fees). */
  get spent(): number {
    return this.#receipts.spent;
  }

  /** Resolves once the service has a replica (or rejects when it closes first). */
  ready(): Promise<void> {
    return this.#waitReplica();
  }

  /** Runs the model on `inputs` (all with one batch size on axis 0, at most the service's maxBatch). */
  async infer(inputs: Record<string, InputTensor>): Promise<Record<string, OutputTensor>> {
    if (this.#closed) throw this.#closed;
    const names = Object.keys(inputs);
    if (names.length === 0) throw new TypeError('Cannot infer as a request must have inputs: current count is 0');
    const tensors = names.map((name) => inputBytes(name, inputs[name]!));
    const items = tensors[0]!.dims[0] ?? 0;
    if (!(items >= 1) || tensors.some((t) => t.dims[0] !== items)) {
      throw new RangeError(`Cannot infer as every input needs one batch size of at least 1 on axis 0: current dims are ${tensors.map((t) => `[${t.dims}]`).join(', ')}`);
    }
    if (items > this.#status.maxBatch) throw new RangeError(`Cannot infer ${items} items at once as the service's maxBatch is ${this.#status.maxBatch}`);
    const total = tensors.reduce((n, t) => n + t.bytes.byteLength, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const t of tensors) {
      bytes.set(t.bytes, at);
      at += t.bytes.byteLength;
    }
    const req: PreparedRequest = { specs: tensors.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims })), bytes, inputHash: await sha256Hex(bytes), items };
    const started = performance.now();
    this.#stats.inFlight++;
    try {
      const check = this.#opts.spotCheck > 0 && Math.random() < this.#opts.spotCheck && this.#replicas.size > 1;
      const first = await this.#ask(req, new Set());
      this.#stats.answered(performance.now() - started, first.lease.leaseId, first.batch, first.queued);
      let outputs = first.outputs;
      if (check) {
        this.#stats.spotChecks++;
        const second = await this.#ask(req, new Set([first.lease.contributor])).catch(() => undefined);
        if (second && second.lease.contributor !== first.lease.contributor && !compareOutputs(first.outputs, second.outputs, this.#opts.tolerance).ok) {
          this.#stats.mismatches++;
          this.dispatchEvent(new CustomEvent('mismatch', { detail: { leases: [first.lease.leaseId, second.lease.leaseId] } }));
          const decided = await arbitrateMismatch(this.#ctx, this.serviceId, [first.answer, second.answer], req, this.#opts.timeoutMs, this.#receipts);
          outputs = decided?.outputs ?? outputs;
        }
      }
      return Object.fromEntries(outputs.map((t) => [t.name, toOutputTensor(t)]));
    } finally {
      this.#stats.inFlight--;
    }
  }

  /** Sends the last receipts, then closes the service (its owner) or leaves it (a joiner); resolves with its final status. */
  async close(): Promise<ServiceStatus> {
    await this.#receipts.flushAll();
    const status = await this.#ctx.coordinator.request<ServiceStatus>({ type: 'serve-close', serviceId: this.serviceId }, { idempotent: true });
    this.#status = status;
    this.#end(new MeshError('cancelled', `Cannot use service ${this.serviceId} as it was closed here`));
    return status;
  }

  /** Ends the handle without telling the coordinator (the session closed). */
  abandon(err: Error): void {
    this.#end(err);
  }

  /** One answer from one replica not run by a contributor in `exclude`, retrying elsewhere on busy or failure. */
  async #ask(req: PreparedRequest, exclude: ReadonlySet<string>) {
    const deadline = performance.now() + this.#opts.timeoutMs;
    let lastError: unknown;
    let modelFailures = 0;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (this.#closed) throw this.#closed;
      const r = await this.#pick(exclude, deadline);
      if (attempt > 0) this.#stats.retries++;
      r.inFlight++;
      try {
        const got = await exchange(this.#ctx.network, r.lease, req, Math.max(1, deadline - performance.now()));
        if (got.kind === 'busy') {
          this.#stats.busy++;
          r.until = performance.now() + Math.max(got.retryAfterMs, 5);
          if (got.reason === 'unpaid') void this.#receipts.flush(r.lease.leaseId);
          this.#wakeAll();
          continue;
        }
        this.#receipts.answered(r.lease, req.items);
        return { ...got, lease: r.lease };
      } catch (err) {
        // The caller's own mistake fails the request; anything of the replica's sends it elsewhere.
        if (err instanceof RemoteFailure && (err.code === 'bad-input' || err.code === 'too-large')) throw err;
        if (err instanceof RemoteFailure && err.code === 'onnx-failed' && ++modelFailures >= MAX_MODEL_FAILURES) throw err;
        lastError = err;
        console.warn(`meshwork: serving request to ${r.lease.leaseId} failed: ${(err as Error).message}`);
        r.until = performance.now() + FAILED_PAUSE_MS;
      } finally {
        r.inFlight--;
        this.#wakeAll();
      }
    }
    throw new MeshError('transfer-failed', `Cannot get an answer from service ${this.serviceId} after ${MAX_ATTEMPTS} sends: ${(lastError as Error | undefined)?.message ?? 'every replica was busy'}`);
  }

  /** The free replica with the fewest requests of this handle in flight, waiting for one up to `deadline`. */
  async #pick(exclude: ReadonlySet<string>, deadline: number): Promise<ReplicaState> {
    for (;;) {
      if (this.#closed) throw this.#closed;
      const now = performance.now();
      if (now >= deadline) throw new MeshError('timeout', `Cannot get an answer from service ${this.serviceId}: no replica answered within ${this.#opts.timeoutMs} ms`);
      let best: ReplicaState | undefined;
      let soonest = Infinity;
      for (const r of this.#replicas.values()) {
        if (exclude.has(r.lease.contributor)) continue;
        if (r.until > now) {
          soonest = Math.min(soonest, r.until);
          continue;
        }
        if (!best || r.inFlight < best.inFlight) best = r;
      }
      if (best) return best;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, Math.min(soonest, deadline) - now));
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wakeAll(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  #waitReplica(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.#closed) reject(this.#closed);
        else if (this.#replicas.size > 0) resolve();
        else this.#wake.push(check);
      };
      check();
    });
  }

  #setReplicas(leases: readonly ServeLease[]): void {
    const live = new Set<string>();
    for (const lease of leases) {
      if (lease.role !== 'replica') continue; // an arbiter serves one dispute, not traffic
      live.add(lease.leaseId);
      if (!this.#replicas.has(lease.leaseId)) this.#replicas.set(lease.leaseId, { lease, inFlight: 0, until: 0 });
    }
    for (const id of [...this.#replicas.keys()]) {
      if (live.has(id)) continue;
      this.#replicas.delete(id);
      this.#stats.forget(id);
      void this.#receipts.flush(id); // pay what it answered before it went
    }
    this.#wakeAll();
    this.dispatchEvent(new CustomEvent('replicas', { detail: { replicas: this.replicas } }));
  }

  #end(err: Error): void {
    if (this.#closed) return;
    this.#closed = err;
    for (const [type, listener] of this.#listeners) this.#ctx.coordinator.removeEventListener(type, listener);
    this.#receipts.dispose();
    this.#wakeAll();
    this.dispatchEvent(new CustomEvent('closed', { detail: { status: this.#status } }));
  }
}
