/// <reference lib="deno.webgpu" />
/**
 * A small WebGPU harness for kernel tests under `deno test` (Deno ships WebGPU; on machines without a
 * GPU it finds Mesa llvmpipe). Deliberately independent of workers/gpu so that kernels and the
 * runner are checked by separate code.
 */

/** How a test buffer is bound: read-only storage input, uniform, or read-write storage output. */
export type TestBindingKind = 'input' | 'uniform' | 'output';

/** One group-0 binding: inputs and uniforms carry data, outputs a byte size. */
export type TestBinding =
  | { binding: number; kind: 'input' | 'uniform'; data: ArrayBuffer | ArrayBufferView }
  | { binding: number; kind: 'output'; bytes: number };

let devicePromise: Promise<GPUDevice> | undefined;

/** The shared test device, with the adapter's full storage-buffer limits (fails loudly without WebGPU). */
export function testDevice(): Promise<GPUDevice> {
  devicePromise ??= (async () => {
    if (!('gpu' in navigator)) throw new Error('Cannot run GPU tests as navigator.gpu is missing: run deno with --unstable-webgpu');
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('Cannot run GPU tests as no WebGPU adapter was found');
    return adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
  })();
  return devicePromise;
}

/** Adapter description, for test names and logs. */
export async function adapterDescription(): Promise<string> {
  const adapter = await navigator.gpu.requestAdapter();
  return adapter?.info.description || adapter?.info.architecture || 'unknown adapter';
}

const pipelines = new Map<string, GPUComputePipeline>();

/** The compiled pipeline of (source, entry point), compiled once per test process. */
function testPipeline(device: GPUDevice, source: string, entryPoint: string): GPUComputePipeline {
  const key = `${entryPoint}\n${source}`;
  let pipeline = pipelines.get(key);
  if (!pipeline) {
    const module = device.createShaderModule({ code: source });
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint } });
    pipelines.set(key, pipeline);
  }
  return pipeline;
}

/** Compiles `source`, runs one dispatch over `bindings` and returns each output's bytes by binding. */
export async function runKernel(opts: {
  source: string;
  entryPoint?: string;
  bindings: TestBinding[];
  dispatch: [number, number, number];
}): Promise<Map<number, ArrayBuffer>> {
  const device = await testDevice();
  device.pushErrorScope('validation');
  const pipeline = testPipeline(device, opts.source, opts.entryPoint ?? 'main');
  const gpuBuffers: GPUBuffer[] = [];
  const reads: { binding: number; bytes: number; src: GPUBuffer; dst: GPUBuffer }[] = [];
  const entries: GPUBindGroupEntry[] = [];
  for (const b of opts.bindings) {
    if (b.kind === 'output') {
      const size = pad4(b.bytes);
      const src = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const dst = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      gpuBuffers.push(src, dst);
      reads.push({ binding: b.binding, bytes: b.bytes, src, dst });
      entries.push({ binding: b.binding, resource: { buffer: src } });
    } else {
      const bytes = asBytes(b.data);
      const usage = b.kind === 'uniform' ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
      const buf = device.createBuffer({ size: pad4(bytes.byteLength), usage, mappedAtCreation: true });
      new Uint8Array(buf.getMappedRange()).set(bytes);
      buf.unmap();
      gpuBuffers.push(buf);
      entries.push({ binding: b.binding, resource: { buffer: buf } });
    }
  }
  try {
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...opts.dispatch);
    pass.end();
    for (const r of reads) encoder.copyBufferToBuffer(r.src, 0, r.dst, 0, r.src.size);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`WebGPU validation failed: ${error.message}`);
    const out = new Map<number, ArrayBuffer>();
    for (const r of reads) {
      await r.dst.mapAsync(GPUMapMode.READ);
      out.set(r.binding, r.dst.getMappedRange(0, r.src.size).slice(0, r.bytes));
      r.dst.unmap();
    }
    return out;
  } finally {
    for (const buf of gpuBuffers) buf.destroy();
  }
}

/** Deterministic uniform floats in [lo, hi) (mulberry32), so a failure reproduces. */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/**
 * Throws naming the first element where |actual - expected| > rel * scale, with scale = |expected|
 * or the given per-element magnitude (for dot products: sum of |terms|, the natural error scale).
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rel: number,
  scale?: ArrayLike<number>,
  label = '',
): void {
  const where = label ? `${label}: ` : '';
  if (actual.length !== expected.length) {
    throw new Error(`${where}Cannot compare as lengths differ: actual ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const s = scale ? scale[i]! : Math.abs(e);
    if (!(Math.abs(a - e) <= rel * s)) {
      throw new Error(`${where}Mismatch at ${i}: actual ${a}, expected ${e}, |diff| ${Math.abs(a - e)} > ${rel} * ${s}`);
    }
  }
}

/**
 * Runs `fn` and throws unless it throws an error of one of `kinds` (default RangeError or TypeError) whose
 * message includes `text`.
 */
export function expectError(fn: () => unknown, text: string, ...kinds: (new (...args: never[]) => Error)[]): void {
  const accepted = kinds.length > 0 ? kinds : [RangeError, TypeError];
  let message = '';
  try {
    fn();
  } catch (e) {
    if (accepted.some((k) => e instanceof k)) message = (e as Error).message;
  }
  if (!message.includes(text)) throw new Error(`Expected ${accepted.map((k) => k.name).join(' or ')} with '${text}', got '${message}'`);
}

function pad4(n: number): number {
  return Math.max(4, Math.ceil(n / 4) * 4);
}

function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
