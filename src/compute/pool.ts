/**
 * The main-thread side of local compute: two module workers, each behind a FIFO lane with its own duty
 * cycle. The GPU lane runs WGSL (and the capability probe) on that worker's WebGPU device; the ONNX lane
 * runs onnxruntime-web with min(cores, cap-derived) WASM threads. Input buffers (and model bytes) are
 * transferred to the worker, so the caller's ArrayBuffers are detached once a task is queued.
 */
import * as Comlink from 'comlink';
import type { Capabilities } from '../protocol/capabilities.ts';
import { MeshError } from '../protocol/errors.ts';
import type { TensorData } from '../protocol/tensor.ts';
import type { OnnxTask, WgslTask, MatmulTask } from '../protocol/worker.ts';
import { Lane } from './lane.ts';
import { buildCapabilities, hostInfo } from './probe.ts';
import { computeWorkerUrl, type SpawnedWorker, spawnComputeWorker } from './spawn.ts';
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

/** Local compute: a GPU lane and an ONNX lane, each one worker with a FIFO queue and a duty cycle. */
export class ComputePool {
  readonly #gpu: { lane: Lane; worker: SpawnedWorker };
  readonly #onnx: { lane: Lane; worker: SpawnedWorker };
  #capabilities: Promise<Capabilities> | undefined;
  #terminated = false;
  #backgroundTuning = true;
  #refining = false;

  private constructor(gpu: SpawnedWorker, onnx: SpawnedWorker, cpuCap: number, gpuCap: number) {
    this.#gpu = { lane: new Lane('gpu', gpuCap), worker: gpu };
    this.#onnx = { lane: new Lane('onnx', cpuCap), worker: onnx };
    for (const { lane, worker } of [this.#gpu, this.#onnx]) {
      // A worker that fails to load or crashes would leave comlink calls pending forever: fail its lane.
      worker.worker.addEventListener('error', (ev) => {
        ev.preventDefault();
        lane.fail(new MeshError('internal', `Cannot run the ${lane.name} compute worker as it failed: ${ev.message || 'script error'}`));
      });
    }
  }

  /** Starts both workers and configures ORT; rejects if either worker cannot start. */
  static async create(opts: ComputePoolOptions = {}): Promise<ComputePool> {
    const cpuCap = checkCap('cpuCap', opts.cpuCap ?? 1);
    const gpuCap = checkCap('gpuCap', opts.gpuCap ?? 1);
    const assetBase = new URL(opts.assetBase ?? '/', location.href).href;
    const script = opts.workerUrl === undefined ? computeWorkerUrl() : new URL(opts.workerUrl, location.href);
    const pool = new ComputePool(spawnComputeWorker('meshwork-gpu', script), spawnComputeWorker('meshwork-onnx', script), cpuCap, gpuCap);
    pool.#backgroundTuning = opts.backgroundTuning ?? true;
    try {
      const threads = ortThreads(hostInfo().cores, cpuCap);
      await Promise.all([
        pool.#gpu.lane.run(() => pool.#gpu.worker.api.configure({ threads: 1, assetBase }), { throttled: false }),
        pool.#onnx.lane.run(() => pool.#onnx.worker.api.configure({ threads, assetBase }), { throttled: false }),
      ]);
    } catch (err) {
      pool.terminate();
      throw err;
    }
    return pool;
  }

  /** Measured capabilities: probed once on the GPU worker (benchmark included), then cached. */
  capabilities(): Promise<Capabilities> {
    this.#capabilities ??= this.#gpu.lane
      .run(() => this.#gpu.worker.api.probe(), { throttled: false })
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
    const { lane, worker } = this.#gpu;
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, REFINE_PAUSE_MS));
        if (this.#terminated) return;
        if (lane.size > 0) continue;
        const r = await lane.run(() => worker.api.refineTuning());
        if (r.complete) return;
      }
    } catch (err) {
      if (!this.#terminated) console.warn(`meshwork: matmul tuning stopped: ${(err as Error).message}`);
    } finally {
      this.#refining = false;
    }
  }

  /** Runs a WGSL dispatch on the GPU lane; the task's input buffers are transferred. */
  runWgsl(task: WgslTask): Promise<TensorData[]> {
    const { lane, worker } = this.#gpu;
    return lane.run(() => worker.api.runWgsl(Comlink.transfer(task, transferables(task.inputs))));
  }

  /** Runs C = A x B on the GPU lane with the adapter's tuned kernel; A's and B's buffers are transferred. */
  runMatmul(task: MatmulTask): Promise<TensorData> {
    const { lane, worker } = this.#gpu;
    return lane.run(() => worker.api.runMatmul(Comlink.transfer(task, transferables([task.a, task.b]))));
  }

  /** Runs an ONNX inference on the ONNX lane; input buffers and model bytes are transferred. */
  runOnnx(task: OnnxTask): Promise<TensorData[]> {
    const { lane, worker } = this.#onnx;
    const extra = task.model ? [task.model] : [];
    return lane.run(() => worker.api.runOnnx(Comlink.transfer(task, transferables(task.inputs, extra))));
  }

  /** Whether the ONNX worker already holds a session for the model (then `model` may be omitted). */
  hasOnnxSession(modelHash: string): Promise<boolean> {
    if (this.#terminated) return Promise.reject(terminatedError());
    return this.#onnx.worker.api.hasOnnxSession(modelHash);
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
}

/** Idle time of the GPU lane before each background tuning step (ms). */
const REFINE_PAUSE_MS = 2000;

/** ORT WASM threads for `cores` at `cpuCap`: the capped share of cores, at least 1, at most 16. */
export function ortThreads(cores: number, cpuCap: number): number {
  return Math.max(1, Math.min(cores, Math.ceil(cores * cpuCap), 16));
}

function transferables(tensors: readonly TensorData[], extra: ArrayBuffer[] = []): Transferable[] {
  const set = new Set<ArrayBuffer>();
  for (const t of tensors) if (t.data instanceof ArrayBuffer) set.add(t.data);
  for (const b of extra) if (b instanceof ArrayBuffer) set.add(b);
  return [...set];
}

function terminatedError(): MeshError {
  return new MeshError('cancelled', 'Cannot run compute as the pool was terminated');
}
