/**
 * The main-thread side of local compute: two module workers, each behind a FIFO lane with its own duty
 * cycle. The GPU lane runs the GPU kinds (and the capability probe) on that worker's WebGPU device; the ONNX
 * lane runs onnxruntime-web with min(cores, cap-derived) WASM threads. `run` takes a task of any kernel kind
 * and queues it on the lane its kind's rules name (src/core/kernels). Input buffers (and model bytes) are
 * transferred to the worker, so the caller's ArrayBuffers are detached once a task is queued.
 *
 * Each worker is supervised (supervisor.ts): a task may carry a deadline (its lease's expiry); a worker that
 * crashes, is terminated or runs a task past its deadline is replaced by a fresh one, its tasks in flight reject
 * with MeshError 'worker-crashed' or 'timeout', and the pool raises a 'fault' event, as it does for a lost GPU
 * device. What to do about repeated faults is the contributor's call; `heal()` restarts both workers and
 * checks them with a self-test.
 */
import * as Comlink from 'comlink';
import { kernelRules } from '../core/kernels/index.ts';
import type { Capabilities } from '../protocol/capabilities.ts';
import { MeshError } from '../protocol/errors.ts';
import type { TensorData } from '../protocol/tensor.ts';
import type { ComputeWorkerApi, KernelTask, MatmulTask, OnnxTask, WgslTask } from '../protocol/worker.ts';
import { Lane, type LaneTaskOptions } from './lane.ts';
import { buildCapabilities, hostInfo } from './probe.ts';
import { computeWorkerUrl, spawnComputeWorker } from './spawn.ts';
import { type CrashDetail, WorkerSupervisor } from './supervisor.ts';
import { checkCap } from './throttle.ts';

/** Options of ComputePool.create(). */
export interface ComputePoolOptions {
  /** Fraction of time the ONNX (CPU) lane may be busy, 0.05..1 (default 1); also sizes ORT's threads. */
  cpuCap?: number;
  /** Fraction of time the GPU lane may be busy, 0.05..1 (default 1). */
  gpuCap?: number;
  /** URL of the dist root where ort/ lives (default: new URL('/', location.href)). */
  assetBase?: string | URL;
  /** Compute worker script (default: the bundled one); on another origin it starts through a blob shim. */
  workerUrl?: string | URL;
  /**
   * After the capability probe, time the matmul tuning candidates its budget left untimed, one per idle
   * GPU-lane slot (default true). Once per adapter: the outcome is stored in IndexedDB.
   */
  backgroundTuning?: boolean;
}

/** Options of one compute task. */
export interface TaskOptions {
  /**
   * Time (ms since the epoch) after which the result is useless (the lease's expiry). A task still queued then
   * rejects with MeshError 'timeout'; one still running counts as a hung worker, which is replaced.
   */
  deadline?: number | undefined;
}

/** Detail of the pool's 'fault' event: a worker crashed, hung or was terminated, or the GPU device was lost. */
export interface FaultDetail {
  lane: 'gpu' | 'onnx';
  failure: 'worker-crashed' | 'timeout' | 'device-lost';
  message: string;
}

type Api = Comlink.Remote<ComputeWorkerApi>;

interface Side {
  readonly name: 'gpu' | 'onnx';
  readonly lane: Lane;
  readonly worker: WorkerSupervisor<Api>;
}

/** Longest wait for the ONNX worker to say whether it holds a session (it may be busy in a long run). */
const SESSION_QUERY_MS = 2_000;
/** Longest time a self-test may take (a fresh worker loads the ORT runtime and a GPU device first). */
const SELF_TEST_MS = 60_000;

/**
 * Local compute: a GPU lane and an ONNX lane, each one supervised worker with a FIFO queue and a duty cycle.
 * Events: 'fault' (CustomEvent<FaultDetail>).
 */
export class ComputePool extends EventTarget {
  readonly #gpu: Side;
  readonly #onnx: Side;
  #capabilities: Promise<Capabilities> | undefined;
  #terminated = false;
  #backgroundTuning = true;
  #refining = false;

  private constructor(gpu: WorkerSupervisor<Api>, onnx: WorkerSupervisor<Api>, cpuCap: number, gpuCap: number) {
    super();
    this.#gpu = { name: 'gpu', lane: new Lane('gpu', gpuCap), worker: gpu };
    this.#onnx = { name: 'onnx', lane: new Lane('onnx', cpuCap), worker: onnx };
    for (const side of [this.#gpu, this.#onnx]) {
      side.worker.addEventListener('crash', (e) => {
        const { failure, message } = (e as CustomEvent<CrashDetail>).detail;
        this.#fault({ lane: side.name, failure, message });
      });
    }
  }

  /** Starts both workers and configures ORT; rejects if either worker cannot start. */
  static async create(opts: ComputePoolOptions = {}): Promise<ComputePool> {
    const cpuCap = checkCap('cpuCap', opts.cpuCap ?? 1);
    const gpuCap = checkCap('gpuCap', opts.gpuCap ?? 1);
    const assetBase = new URL(opts.assetBase ?? '/', location.href).href;
    const script = opts.workerUrl === undefined ? computeWorkerUrl() : new URL(opts.workerUrl, location.href);
    const supervised = (name: 'gpu' | 'onnx', threads: number) => new WorkerSupervisor<Api>({
      name,
      spawn: () => spawnComputeWorker(`meshwork-${name}`, script),
      // Every fresh worker is configured before its first task.
      init: (api) => api.configure({ threads, assetBase }),
    });
    const pool = new ComputePool(supervised('gpu', 1), supervised('onnx', ortThreads(hostInfo().cores, cpuCap)), cpuCap, gpuCap);
    pool.#backgroundTuning = opts.backgroundTuning ?? true;
    try {
      await Promise.all([pool.#gpu.worker.start(), pool.#onnx.worker.start()]);
    } catch (err) {
      pool.terminate();
      throw err;
    }
    return pool;
  }

  /** Measured capabilities: probed once on the GPU worker (benchmark included), then cached. */
  capabilities(): Promise<Capabilities> {
    this.#capabilities ??= this.#task(this.#gpu, (api) => api.probe(), { throttled: false }, 'the capability probe')
      .then((probe) => buildCapabilities(probe, hostInfo()));
    this.#capabilities.catch(() => (this.#capabilities = undefined));
    this.#capabilities.then((caps) => {
      if (caps.gpu && this.#backgroundTuning) void this.#refineTuning();
    }, () => {});
    return this.#capabilities;
  }

  /**
   * Times the remaining matmul candidates one lane slot at a time, after a pause in which the lane was
   * idle, so shards queued meanwhile go first and the duty cycle caps this work like any other.
   */
  async #refineTuning(): Promise<void> {
    if (this.#refining) return;
    this.#refining = true;
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, REFINE_PAUSE_MS));
        if (this.#terminated) return;
        if (this.#gpu.lane.size > 0) continue;
        const r = await this.#task(this.#gpu, (api) => api.refineTuning(), {}, 'matmul tuning');
        if (r.complete) return;
      }
    } catch (err) {
      if (!this.#terminated) console.warn(`meshwork: matmul tuning stopped: ${(err as Error).message}`);
    } finally {
      this.#refining = false;
    }
  }

  /**
   * Runs a task of any kernel kind on the lane its kind's rules name (GPU or ONNX); every ArrayBuffer the task
   * carries (input tensors, model bytes) is transferred. Resolves with the outputs in order.
   */
  run(task: KernelTask, opts: TaskOptions = {}): Promise<TensorData[]> {
    const rules = kernelRules(task.kind);
    const side = rules.lane === 'gpu' ? this.#gpu : this.#onnx;
    return this.#task(side, (api) => api.run(Comlink.transfer(task, taskBuffers(task))), opts, rules.what);
  }

  /** Runs a WGSL dispatch on the GPU lane (`run` of a 'wgsl' task). */
  runWgsl(task: WgslTask, opts: TaskOptions = {}): Promise<TensorData[]> {
    return this.run({ kind: 'wgsl', ...task }, opts);
  }

  /** Runs C = A x B on the GPU lane with the adapter's tuned kernel (`run` of a 'matmul' task); resolves with C. */
  runMatmul(task: MatmulTask, opts: TaskOptions = {}): Promise<TensorData> {
    return this.run({ kind: 'matmul', ...task }, opts).then(([c]) => c!);
  }

  /** Runs an ONNX inference on the ONNX lane (`run` of an 'onnx' task). */
  runOnnx(task: OnnxTask, opts: TaskOptions = {}): Promise<TensorData[]> {
    return this.run({ kind: 'onnx', ...task }, opts);
  }

  /**
   * Whether the ONNX worker already holds a session for the model (then `model` may be omitted). False when
   * the worker is not running (a fresh one holds nothing) or does not answer within 2 s (busy in a long run).
   */
  async hasOnnxSession(modelHash: string): Promise<boolean> {
    if (this.#terminated) throw terminatedError();
    const { worker } = this.#onnx;
    if (!worker.alive) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SESSION_QUERY_MS)));
    try {
      return await Promise.race([worker.call((api) => api.hasOnnxSession(modelHash), { what: 'a session lookup' }), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Checks that both workers compute correctly: a small WGSL dispatch (when the probe found a GPU) and a tiny
   * ONNX model, each against the CPU (see workers/self-test.ts); a worker that is not running starts first.
   * Rejects with the first failure.
   */
  async selfTest(): Promise<void> {
    const deadline = Date.now() + SELF_TEST_MS;
    const gpu = (await this.#capabilities?.catch(() => undefined))?.gpu !== undefined;
    await Promise.all([
      this.#task(this.#gpu, (api) => api.selfTest({ gpu }), { throttled: false, deadline }, 'the GPU self-test'),
      this.#task(this.#onnx, (api) => api.selfTest({ onnx: true }), { throttled: false, deadline }, 'the ONNX self-test'),
    ]);
  }

  /** Replaces both workers with fresh ones (a new GPU device, no ORT sessions) and runs the self-test on them. */
  async heal(): Promise<void> {
    if (this.#terminated) throw terminatedError();
    for (const side of [this.#gpu, this.#onnx]) side.worker.restart('healing after faults');
    await this.selfTest();
  }

  /** Workers started so far on each lane (one each at creation; one more per crash or heal). */
  get spawned(): { gpu: number; onnx: number } {
    return { gpu: this.#gpu.worker.spawned, onnx: this.#onnx.worker.spawned };
  }

  /** Changes the duty-cycle caps (0.05..1) from the next task on; ORT's thread count stays as created. */
  setCaps(caps: { cpuCap?: number; gpuCap?: number }): void {
    const cpu = caps.cpuCap === undefined ? undefined : checkCap('cpuCap', caps.cpuCap);
    const gpu = caps.gpuCap === undefined ? undefined : checkCap('gpuCap', caps.gpuCap);
    if (cpu !== undefined) this.#onnx.lane.duty.cap = cpu;
    if (gpu !== undefined) this.#gpu.lane.duty.cap = gpu;
  }

  /** Stops both workers; queued and running tasks reject with MeshError('cancelled'). */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    for (const { lane, worker } of [this.#gpu, this.#onnx]) {
      lane.fail(terminatedError());
      worker.terminate();
    }
  }

  /** Queues `fn` on a side's lane; when its turn comes it runs on that side's supervised worker. */
  #task<T>(side: Side, fn: (api: Api) => Promise<T>, opts: TaskOptions & LaneTaskOptions, what: string): Promise<T> {
    const { deadline } = opts;
    const ran = side.lane.run(() => side.worker.call(fn, { deadline, what }), opts);
    if (side.name !== 'gpu') return ran;
    return ran.catch((err: unknown) => {
      // The worker lives on and opens a new device for its next task, but the loss is a fault worth counting.
      if (err instanceof MeshError && err.code === 'gpu-device-lost') this.#fault({ lane: 'gpu', failure: 'device-lost', message: err.message });
      throw err;
    });
  }

  #fault(detail: FaultDetail): void {
    if (this.#terminated) return;
    console.warn(`meshwork: ${detail.lane} worker fault (${detail.failure}): ${detail.message}`);
    this.dispatchEvent(new CustomEvent<FaultDetail>('fault', { detail }));
  }
}

/** Idle time of the GPU lane before each background tuning step (ms). */
const REFINE_PAUSE_MS = 2000;

/** ORT WASM threads for `cores` at `cpuCap`: the capped share of cores, at least 1, at most 16. */
export function ortThreads(cores: number, cpuCap: number): number {
  return Math.max(1, Math.min(cores, Math.ceil(cores * cpuCap), 16));
}

/**
 * Every ArrayBuffer a task carries, found without knowing its kind: fields that are buffers (model bytes),
 * tensors (`data`), or arrays of either.
 */
function taskBuffers(task: KernelTask): Transferable[] {
  const set = new Set<ArrayBuffer>();
  const add = (x: unknown) => {
    if (x instanceof ArrayBuffer) set.add(x);
    else if (x !== null && typeof x === 'object' && (x as { data?: unknown }).data instanceof ArrayBuffer) set.add((x as { data: ArrayBuffer }).data);
  };
  for (const value of Object.values(task)) {
    if (Array.isArray(value)) value.forEach(add);
    else add(value);
  }
  return [...set];
}

function terminatedError(): MeshError {
  return new MeshError('cancelled', 'Cannot run compute as the pool was terminated');
}
