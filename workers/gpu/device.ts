/**
 * WebGPU adapter and device for one worker: acquired lazily with the adapter's full buffer limits,
 * re-acquired after a loss, and with every failure turned into a MeshError a caller can act on:
 * no adapter -> 'gpu-unavailable', device lost mid-task -> 'gpu-device-lost', WGSL or API misuse
 * -> 'gpu-validation' carrying the compiler's message.
 */
import { MeshError } from '../../src/protocol/errors.ts';
import type { GpuLimits } from '../../src/protocol/capabilities.ts';
import { PipelineCache } from './pipeline-cache.ts';

/** Fails fast when the context has no WebGPU at all. */
export function assertWebGpu(gpu: GPU | undefined): asserts gpu {
  if (!gpu) throw new MeshError('gpu-unavailable', 'Cannot use WebGPU as navigator.gpu is missing in this context');
}

/** Fails fast when WebGPU offers no adapter (blocklisted GPU, or flag off). */
export function assertAdapter(adapter: GPUAdapter | null): asserts adapter {
  if (!adapter) throw new MeshError('gpu-unavailable', 'Cannot use WebGPU as requestAdapter() returned null');
}

/** The limits this project relies on, taken at the adapter's maximum so large shards fit. */
const LIMIT_KEYS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const satisfies readonly (keyof GpuLimits)[];

/** Optional features enabled when the adapter has them, so user kernels may `enable` them. */
const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];

/** A live device with what runners need beside it. */
export interface GpuHandle {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly info: { vendor: string; architecture: string; description: string };
  readonly features: string[];
  /** The device's (not the adapter's) limits, as the protocol reports them. */
  readonly limits: GpuLimits;
  /** Uniform-binding limits, checked by the runner though not part of the protocol's GpuLimits. */
  readonly uniformLimits: { maxUniformBufferBindingSize: number; maxUniformBuffersPerShaderStage: number };
  readonly pipelines: PipelineCache;
}

/**
 * Owns one device at a time. `run()` rejects its work with 'gpu-device-lost' when the device is lost
 * (or with 'gpu-validation' on an uncaptured error) and the next call acquires a fresh device.
 */
export class GpuDeviceManager {
  #gpu: GPU | undefined;
  #current: Promise<GpuHandle> | undefined;
  #pending = new Set<{ handle: GpuHandle; reject: (err: MeshError) => void }>();
  #disposed = false;

  /** `gpu` defaults to `navigator.gpu` of the current context. */
  constructor(gpu: GPU | undefined = globalThis.navigator?.gpu) {
    this.#gpu = gpu;
  }

  /** Whether an adapter exists, without creating a device. */
  async available(): Promise<boolean> {
    if (!this.#gpu) return false;
    try {
      return (await this.#gpu.requestAdapter()) !== null;
    } catch {
      return false;
    }
  }

  /** The current device, acquiring one if there is none or the last was lost. */
  acquire(): Promise<GpuHandle> {
    if (this.#disposed) {
      return Promise.reject(new MeshError('gpu-unavailable', 'Cannot acquire a GPU device as the manager was disposed'));
    }
    if (!this.#current) {
      const attempt = this.#open();
      this.#current = attempt;
      // A failed acquisition is not cached: the next call tries again.
      attempt.catch(() => {
        if (this.#current === attempt) this.#current = undefined;
      });
    }
    return this.#current;
  }

  /**
   * Runs `work` on the device. It rejects as soon as that device is lost ('gpu-device-lost') or reports
   * an uncaptured error ('gpu-validation'), without waiting for `work`, whose GPU calls may never settle.
   */
  async run<T>(work: (gpu: GpuHandle) => Promise<T>): Promise<T> {
    const handle = await this.acquire();
    const entry = { handle, reject: (_err: MeshError) => {} };
    const aborted = new Promise<never>((_, reject) => (entry.reject = reject));
    this.#pending.add(entry);
    try {
      return await Promise.race([work(handle), aborted]);
    } finally {
      this.#pending.delete(entry);
    }
  }

  /** Destroys the device; later calls fail with 'gpu-unavailable'. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const current = this.#current;
    this.#current = undefined;
    if (current) (await current.catch(() => undefined))?.device.destroy();
  }

  async #open(): Promise<GpuHandle> {
    assertWebGpu(this.#gpu);
    const adapter = await this.#gpu.requestAdapter();
    assertAdapter(adapter);
    const requiredLimits: Record<string, number> = {};
    for (const key of LIMIT_KEYS) requiredLimits[key] = adapter.limits[key];
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    } catch (err) {
      throw new MeshError('gpu-unavailable', `Cannot create a GPU device as requestDevice() failed: ${(err as Error).message}`, { cause: err });
    }
    if (this.#disposed) {
      device.destroy();
      throw new MeshError('gpu-unavailable', 'Cannot acquire a GPU device as the manager was disposed');
    }
    const handle: GpuHandle = {
      adapter,
      device,
      info: {
        vendor: adapter.info.vendor ?? '',
        architecture: adapter.info.architecture ?? '',
        description: adapter.info.description ?? '',
      },
      features: [...device.features].sort(),
      limits: Object.fromEntries(LIMIT_KEYS.map((k) => [k, device.limits[k]])) as GpuLimits,
      uniformLimits: {
        maxUniformBufferBindingSize: device.limits.maxUniformBufferBindingSize,
        maxUniformBuffersPerShaderStage: device.limits.maxUniformBuffersPerShaderStage,
      },
      pipelines: new PipelineCache(device),
    };
    const opened = this.#current;
    void device.lost.then((info) => {
      // Forget this device so the next acquire() opens a fresh one, then fail what was running on it.
      if (this.#current === opened) this.#current = undefined;
      const how = info.reason === 'destroyed' ? 'destroyed' : 'lost';
      this.#abort(handle, new MeshError('gpu-device-lost', `Cannot finish GPU work as the device was ${how}: ${info.message || info.reason}`));
    });
    device.addEventListener('uncapturederror', (ev) => {
      const message = (ev as GPUUncapturedErrorEvent).error.message;
      this.#abort(handle, new MeshError('gpu-validation', `Cannot finish GPU work as WebGPU reported an uncaptured error: ${message}`));
    });
    return handle;
  }

  #abort(handle: GpuHandle, err: MeshError): void {
    for (const entry of this.#pending) {
      if (entry.handle !== handle) continue;
      this.#pending.delete(entry);
      entry.reject(err);
    }
  }
}
