/**
 * Compiled compute pipelines of one device, keyed by the SHA-256 of (source, entry point, binding
 * layout), so a kernel that runs on many shards compiles once. The bind-group layout is explicit, from
 * the task's binding roles: a kernel whose declarations disagree with its declared roles fails at
 * compile time with the compiler's message instead of binding the wrong buffer kind.
 */
import { sha256Hex } from '../../src/core/hash.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { WgslTask } from '../../src/protocol/worker.ts';
import { withErrorScopes } from './error-scopes.ts';

/** A binding of group 0 and how it is fed. */
export type BindingLayout = WgslTask['bindings'];

/** A pipeline and the layout its bind groups must follow. */
export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly key: string;
}

const BUFFER_TYPE: Record<BindingLayout[number]['role'], GPUBufferBindingType> = {
  input: 'read-only-storage',
  uniform: 'uniform',
  output: 'storage',
};

/** Pipelines of one device. Failed compilations are not cached, so a fixed kernel can be retried. */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #entries = new Map<string, Promise<CachedPipeline>>();

  /** A cache bound to `device` (pipelines are per device: a new device starts a new cache). */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of pipelines compiled or compiling. */
  get size(): number {
    return this.#entries.size;
  }

  /** Cache key of a kernel: SHA-256 over source, entry point and binding layout. */
  static async key(source: string, entryPoint: string, bindings: BindingLayout): Promise<string> {
    const layout = bindings.map((b) => `${b.binding}:${b.role}`).join(',');
    return sha256Hex(new TextEncoder().encode(`${entryPoint}\n${layout}\n${source}`));
  }

  /** The pipeline for a kernel, compiling it on first use. */
  async get(source: string, entryPoint: string, bindings: BindingLayout): Promise<CachedPipeline> {
    const key = await PipelineCache.key(source, entryPoint, bindings);
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = this.#compile(key, source, entryPoint, bindings);
      this.#entries.set(key, entry);
      entry.catch(() => this.#entries.delete(key));
    }
    return entry;
  }

  async #compile(key: string, source: string, entryPoint: string, bindings: BindingLayout): Promise<CachedPipeline> {
    const device = this.#device;
    return withErrorScopes(device, `compile WGSL entry point '${entryPoint}'`, async () => {
      const module = device.createShaderModule({ code: source });
      // Compiler diagnostics with line:column, clearer than the pipeline error that would follow.
      const info = await module.getCompilationInfo?.();
      const errors = info?.messages.filter((m) => m.type === 'error') ?? [];
      if (errors.length > 0) {
        const text = errors.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
        throw new MeshError('gpu-validation', `Cannot compile WGSL as it has ${errors.length} error(s): ${text}`);
      }
      const layout = device.createBindGroupLayout({
        entries: bindings.map((b) => ({
          binding: b.binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: BUFFER_TYPE[b.role] },
        })),
      });
      // A rejection here (bad entry point, roles that disagree with the WGSL) is reported by the error
      // scope with the full message; withErrorScopes prefers that.
      const pipeline = await device.createComputePipelineAsync({
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint },
      });
      return { pipeline, layout, key };
    });
  }
}
