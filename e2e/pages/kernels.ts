// Test harness page for the WGSL kernels in shaders/: each check runs kernels through raw WebGPU in this page
// (navigator.gpu; SwiftShader in headless Chromium, a real GPU elsewhere), compares with the f64 CPU references
// of shaders/testing/reference.ts, and returns plain numbers (max scaled error per kernel and size) for
// e2e/kernels.spec.ts to assert on. Independent of src/compute and workers/: the kernels are checked alone.
import { planRowChunks } from '../../shaders/chunks.ts';
import { elementwiseDispatch, elementwiseParams, type ElementwiseOp, elementwiseUsesVec4, elementwiseVec4Source } from '../../shaders/elementwise.ts';
import { layerNormDispatch, layerNormParams, layerNormUsesVec4, layerNormVec4Source } from '../../shaders/layernorm.ts';
import {
  MATMUL_CANDIDATES, matmulConfigFits, matmulConfigName, matmulDispatch, matmulParams, matmulWgsl,
} from '../../shaders/matmul.ts';
import { planReduceAll, reduceDispatch, reduceParams, type ReduceOp, reduceUsesVec4, reduceVec4Source } from '../../shaders/reduce.ts';
import { ROW_WORKGROUP, rowConstants, rowLimits, type RowLimits } from '../../shaders/rows.ts';
import { softmaxDispatch, softmaxParams, softmaxUsesVec4, softmaxVec4Source } from '../../shaders/softmax.ts';
import {
  elementwiseReference, layerNormReference, matmulReference, randomFloats, reduceReference, softmaxReference,
} from '../../shaders/testing/reference.ts';
import elementwiseWgsl from '../../shaders/elementwise.wgsl?raw';
import layerNormWgsl from '../../shaders/layernorm.wgsl?raw';
import reduceWgsl from '../../shaders/reduce.wgsl?raw';
import softmaxWgsl from '../../shaders/softmax.wgsl?raw';

/** [rows, cols] of a row-kernel check. */
type Shape = [number, number];

/** How a row-kernel check lays out its work: workgroup width, and an artificially small grid limit. */
interface RowOptions {
  workgroup?: number;
  maxWorkgroupsPerDim?: number;
  /** Run the kernel's vec4 variant where the shape allows it (cols a multiple of 4). */
  vec4?: boolean;
}

/** One group-0 binding: data in (storage or uniform), or an output of `bytes`. */
type Binding =
  | { binding: number; kind: 'input' | 'uniform'; data: ArrayBuffer | Float32Array<ArrayBuffer> }
  | { binding: number; kind: 'output'; bytes: number };

let devicePromise: Promise<GPUDevice> | undefined;
const uncaptured: string[] = [];

/** The page's device, with the adapter's full buffer limits; fails loudly without WebGPU. */
function gpu(): Promise<GPUDevice> {
  devicePromise ??= (async () => {
    if (!navigator.gpu) throw new Error('Cannot run kernel checks as navigator.gpu is missing: start Chromium with --enable-unsafe-webgpu');
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('Cannot run kernel checks as no WebGPU adapter was found');
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      },
    });
    device.addEventListener('uncapturederror', (e) => uncaptured.push((e as GPUUncapturedErrorEvent).error.message));
    void device.lost.then((info) => uncaptured.push(`device lost (${info.reason}): ${info.message}`));
    return device;
  })();
  return devicePromise;
}

const pipelines = new Map<string, Promise<GPUComputePipeline>>();

/** The compiled pipeline of `source` with pipeline constants, compiled once per page. */
function pipeline(device: GPUDevice, source: string, constants: Record<string, number> = {}): Promise<GPUComputePipeline> {
  const key = `${JSON.stringify(constants)}\n${source}`;
  let p = pipelines.get(key);
  if (!p) {
    const module = device.createShaderModule({ code: source });
    p = device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main', constants } });
    pipelines.set(key, p);
  }
  return p;
}

function buffer(device: GPUDevice, bytes: number, usage: number): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
}

/** Reads `bytes` of `src` back to the CPU as floats. */
async function readBack(device: GPUDevice, src: GPUBuffer, bytes: number): Promise<Float32Array> {
  const staging = buffer(device, bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(src, 0, staging, 0, staging.size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return new Float32Array(staging.getMappedRange().slice(0, bytes));
  } finally {
    staging.destroy();
  }
}

/** A buffer holding `data` for binding as `kind`. */
function upload(device: GPUDevice, data: ArrayBuffer | Float32Array<ArrayBuffer>, kind: 'input' | 'uniform'): GPUBuffer {
  const usage = kind === 'uniform' ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
  const buf = buffer(device, data.byteLength, usage | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}

/** Runs one dispatch of `source` over `bindings`; returns each output by binding. */
async function runKernel(source: string, bindings: Binding[], dispatch: [number, number, number], constants?: Record<string, number>): Promise<Map<number, Float32Array>> {
  const device = await gpu();
  const p = await pipeline(device, source, constants);
  const owned: GPUBuffer[] = [];
  try {
    const outputs: { binding: number; buf: GPUBuffer; bytes: number }[] = [];
    const entries = bindings.map((b) => {
      const buf = b.kind === 'output' ? buffer(device, b.bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC) : upload(device, b.data, b.kind);
      owned.push(buf);
      if (b.kind === 'output') outputs.push({ binding: b.binding, buf, bytes: b.bytes });
      return { binding: b.binding, resource: { buffer: buf } };
    });
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(p);
    pass.setBindGroup(0, device.createBindGroup({ layout: p.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(...dispatch);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`WebGPU validation failed: ${error.message}`);
    const out = new Map<number, Float32Array>();
    for (const o of outputs) out.set(o.binding, await readBack(device, o.buf, o.bytes));
    return out;
  } finally {
    for (const b of owned) b.destroy();
  }
}

/** max |actual - expected| / scale (scale defaults to |expected|); Infinity for NaN or a length mismatch. */
function maxScaledError(actual: ArrayLike<number>, expected: ArrayLike<number>, scale?: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const s = Math.max(scale ? scale[i]! : Math.abs(expected[i]!), 1e-30);
    const e = Math.abs(actual[i]! - expected[i]!) / s;
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** n floats in [lo, hi) (seeded LCG of reference.ts). */
function floats(n: number, seed: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  const u = randomFloats(n, seed);
  for (let i = 0; i < n; i++) u[i] = lo + ((u[i]! + 1) / 2) * (hi - lo);
  return u as Float32Array<ArrayBuffer>;
}

async function limitsFor(opts: RowOptions): Promise<RowLimits> {
  const limits = rowLimits((await gpu()).limits);
  return opts.maxWorkgroupsPerDim ? { ...limits, maxComputeWorkgroupsPerDimension: opts.maxWorkgroupsPerDim } : limits;
}

const label = ([rows, cols]: Shape) => `${rows}x${cols}`;

const checks = {
  /** What the checks run on. */
  async adapter(): Promise<{ architecture: string; description: string; maxComputeInvocationsPerWorkgroup: number }> {
    const device = await gpu();
    const info = device.adapterInfo;
    return { architecture: info.architecture, description: info.description, maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup };
  },

  /** WebGPU errors no check captured (validation outside a scope, device loss). */
  uncaptured(): string[] {
    return [...uncaptured];
  },

  /** Row-wise sum and max per shape: error of sum scaled by sum |x|, of max by |max| (exact: 0 expected). */
  async reduce(shapes: Shape[], opts: RowOptions = {}): Promise<Record<string, number>> {
    const limits = await limitsFor(opts);
    const workgroup = opts.workgroup ?? ROW_WORKGROUP;
    const out: Record<string, number> = {};
    for (const [rows, cols] of shapes) {
      const x = floats(rows * cols, rows * 7 + cols);
      const width = opts.vec4 && reduceUsesVec4(cols) ? 4 : 1;
      for (const op of ['sum', 'max'] as const) {
        const y = await runKernel(width === 4 ? reduceVec4Source(reduceWgsl) : reduceWgsl, [
          { binding: 0, kind: 'input', data: x },
          { binding: 1, kind: 'uniform', data: reduceParams(rows, cols, op, { workgroup, width }) },
          { binding: 2, kind: 'output', bytes: rows * 4 },
        ], reduceDispatch(rows, cols, limits, workgroup, width), rowConstants(workgroup));
        const ref = reduceReference(op, x, rows, cols);
        out[`${op} ${label([rows, cols])}`] = maxScaledError(y.get(2)!, ref.y, ref.scale);
      }
    }
    return out;
  },

  /** Whole-array sum and max through planReduceAll's passes, run in one command buffer. */
  async reduceAll(ns: number[]): Promise<Record<string, number>> {
    const device = await gpu();
    const limits = rowLimits(device.limits);
    const p = await pipeline(device, reduceWgsl, rowConstants());
    const out: Record<string, number> = {};
    for (const n of ns) {
      const x = floats(n, n, -1, 1.5);
      for (const op of ['sum', 'max'] as ReduceOp[]) {
        const plan = planReduceAll(n, op, limits);
        const input = upload(device, x, 'input');
        const partials = buffer(device, plan.partials * 4, GPUBufferUsage.STORAGE);
        const result = buffer(device, 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
        const uniforms = plan.passes.map((pass) => upload(device, pass.params, 'uniform'));
        const encoder = device.createCommandEncoder();
        const cp = encoder.beginComputePass();
        cp.setPipeline(p);
        plan.passes.forEach((pass, i) => {
          const entries = [
            { binding: 0, resource: { buffer: pass.input === 'x' ? input : partials } },
            { binding: 1, resource: { buffer: uniforms[i]! } },
            { binding: 2, resource: { buffer: pass.output === 'result' ? result : partials } },
          ];
          cp.setBindGroup(0, device.createBindGroup({ layout: p.getBindGroupLayout(0), entries }));
          cp.dispatchWorkgroups(...pass.dispatch);
        });
        cp.end();
        device.queue.submit([encoder.finish()]);
        const y = await readBack(device, result, 4);
        const ref = reduceReference(op, x, 1, n);
        out[`${op} n=${n} in ${plan.passes.length} pass(es)`] = maxScaledError(y, ref.y, ref.scale);
        for (const b of [input, partials, result, ...uniforms]) b.destroy();
      }
    }
    return out;
  },

  /** Row softmax per shape on inputs in [-8, 8); error relative to each (positive) output. */
  async softmax(shapes: Shape[], opts: RowOptions = {}): Promise<Record<string, number>> {
    const limits = await limitsFor(opts);
    const workgroup = opts.workgroup ?? ROW_WORKGROUP;
    const out: Record<string, number> = {};
    for (const [rows, cols] of shapes) {
      const x = floats(rows * cols, rows * 11 + cols, -8, 8);
      const width = opts.vec4 && softmaxUsesVec4(cols) ? 4 : 1;
      const y = await runKernel(width === 4 ? softmaxVec4Source(softmaxWgsl) : softmaxWgsl, [
        { binding: 0, kind: 'input', data: x },
        { binding: 1, kind: 'uniform', data: softmaxParams(rows, cols, { workgroup, width }) },
        { binding: 2, kind: 'output', bytes: rows * cols * 4 },
      ], softmaxDispatch(rows, cols, limits, workgroup, width), rowConstants(workgroup));
      out[label([rows, cols])] = maxScaledError(y.get(2)!, softmaxReference(x, rows, cols));
    }
    return out;
  },

  /** Layer norm per shape (row offsets in [-3, 3), gamma in [-2, 2)); error scaled as layerNormReference says. */
  async layerNorm(shapes: Shape[], opts: RowOptions = {}): Promise<Record<string, number>> {
    const limits = await limitsFor(opts);
    const workgroup = opts.workgroup ?? ROW_WORKGROUP;
    const out: Record<string, number> = {};
    for (const [rows, cols] of shapes) {
      const x = floats(rows * cols, rows * 13 + cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) x[r * cols + c] = x[r * cols + c]! + ((r % 7) - 3);
      const gamma = floats(cols, cols + 1, -2, 2);
      const beta = floats(cols, cols + 2);
      const width = opts.vec4 && layerNormUsesVec4(cols) ? 4 : 1;
      const y = await runKernel(width === 4 ? layerNormVec4Source(layerNormWgsl) : layerNormWgsl, [
        { binding: 0, kind: 'input', data: x },
        { binding: 1, kind: 'input', data: gamma },
        { binding: 2, kind: 'input', data: beta },
        { binding: 3, kind: 'uniform', data: layerNormParams(rows, cols, { eps: 1e-5, workgroup, width }) },
        { binding: 4, kind: 'output', bytes: rows * cols * 4 },
      ], layerNormDispatch(rows, cols, limits, workgroup, width), rowConstants(workgroup));
      const ref = layerNormReference(x, gamma, beta, rows, cols, 1e-5);
      out[label([rows, cols])] = maxScaledError(y.get(4)!, ref.y, ref.scale);
    }
    return out;
  },

  /** Softmax in row chunks bound as buffer sub-ranges under an artificial binding limit. */
  async softmaxChunked(rows: number, cols: number, maxBinding: number): Promise<{ error: number; chunks: number; misaligned: number }> {
    const device = await gpu();
    const limits = rowLimits(device.limits);
    const p = await pipeline(device, softmaxWgsl, rowConstants());
    const x = floats(rows * cols, 5, -8, 8);
    const chunks = planRowChunks(rows, [cols * 4, cols * 4], { maxStorageBufferBindingSize: maxBinding, minStorageBufferOffsetAlignment: 256 });
    const input = upload(device, x, 'input');
    const output = buffer(device, x.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const uniforms: GPUBuffer[] = [];
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder();
    const cp = encoder.beginComputePass();
    cp.setPipeline(p);
    for (const chunk of chunks) {
      const [wx, wy] = chunk.windows;
      const uniform = upload(device, softmaxParams(chunk.rows, cols, { base: wx!.base }), 'uniform');
      uniforms.push(uniform);
      cp.setBindGroup(0, device.createBindGroup({
        layout: p.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: input, offset: wx!.offset, size: wx!.size } },
          { binding: 1, resource: { buffer: uniform } },
          { binding: 2, resource: { buffer: output, offset: wy!.offset, size: wy!.size } },
        ],
      }));
      cp.dispatchWorkgroups(...softmaxDispatch(chunk.rows, cols, limits));
    }
    cp.end();
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`WebGPU validation failed: ${error.message}`);
    const y = await readBack(device, output, x.byteLength);
    for (const b of [input, output, ...uniforms]) b.destroy();
    return {
      error: maxScaledError(y, softmaxReference(x, rows, cols)),
      chunks: chunks.length,
      misaligned: chunks.filter((c) => c.windows[0]!.base > 0).length,
    };
  },

  /**
   * Matmul candidate `index` of MATMUL_CANDIDATES in one variant, at awkward sizes (edges off the tiles; the
   * scalar variant also at a K and N off multiples of 4); error scaled by sum_k |a_ik b_kj|, keyed `MxKxN`.
   * `skipped` when the config does not fit the device; `compileTimedOut` when compiling took over
   * `compileBudgetMs` (the pipeline may still be compiling: the caller should drop this page's browser).
   */
  async matmul(index: number, variant: 'scalar' | 'vec4', compileBudgetMs = 60_000): Promise<{
    name: string; errors: Record<string, number>; skipped: boolean; compileTimedOut: boolean; compileMs: number;
  }> {
    const device = await gpu();
    const config = MATMUL_CANDIDATES[index];
    if (!config) throw new RangeError(`Cannot check a matmul candidate as 'index' is out of range: current value is ${index}`);
    const name = matmulConfigName(config);
    const errors: Record<string, number> = {};
    const result = { name, errors, skipped: false, compileTimedOut: false, compileMs: 0 };
    if (!matmulConfigFits(config, device.limits)) return { ...result, skipped: true };
    const vec4 = variant === 'vec4';
    const source = matmulWgsl(config, vec4);
    const t0 = performance.now();
    const compiled = await Promise.race([
      pipeline(device, source).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), compileBudgetMs)),
    ]);
    result.compileMs = performance.now() - t0;
    if (!compiled) return { ...result, compileTimedOut: true };
    const shapes: [number, number, number][] = vec4 ? [[67, 36, 132], [129, 20, 68]] : [[33, 17, 65], [67, 36, 132], [129, 20, 68]];
    for (const [m, k, n] of shapes) {
      const a = floats(m * k, m + k);
      const b = floats(k * n, k + n);
      const out = await runKernel(source, [
        { binding: 0, kind: 'input', data: a },
        { binding: 1, kind: 'input', data: b },
        { binding: 2, kind: 'uniform', data: matmulParams(m, n, k) },
        { binding: 3, kind: 'output', bytes: m * n * 4 },
      ], matmulDispatch(m, n, config));
      const ref = matmulReference(a, b, m, k, n);
      errors[`${m}x${k}x${n}`] = maxScaledError(out.get(3)!, ref.c, ref.scale);
    }
    return result;
  },

  /**
   * Every element-wise op at length n (the vec4 variant when `vec4` and n allows it); affine scaled by
   * |a alpha| + |beta| (it can cancel).
   */
  async elementwise(n: number, vec4 = false): Promise<Record<ElementwiseOp, number>> {
    const width = vec4 && elementwiseUsesVec4(n) ? 4 : 1;
    const source = width === 4 ? elementwiseVec4Source(elementwiseWgsl) : elementwiseWgsl;
    const a = floats(n, 3);
    const b = floats(n, 4);
    const alpha = Math.fround(-1.75);
    const beta = Math.fround(0.3125);
    const out = {} as Record<ElementwiseOp, number>;
    for (const op of ['add', 'mul', 'relu', 'affine'] as const) {
      const y = await runKernel(source, [
        { binding: 0, kind: 'input', data: a },
        { binding: 1, kind: 'input', data: b },
        { binding: 2, kind: 'uniform', data: elementwiseParams(n, op, alpha, beta) },
        { binding: 3, kind: 'output', bytes: n * 4 },
      ], elementwiseDispatch(n, width));
      const ref = elementwiseReference(op, a, b, alpha, beta);
      const scale = op === 'affine' ? Array.from(a, (v) => Math.abs(v * alpha) + Math.abs(beta)) : Array.from(ref, Math.abs);
      out[op] = maxScaledError(y.get(3)!, ref, scale);
    }
    return out;
  },
};

/** What specs reach through `window.kernelsTest`. */
export type KernelChecks = typeof checks;

declare global {
  interface Window {
    kernelsTest: KernelChecks;
  }
}

window.kernelsTest = checks;
document.body.dataset.ready = 'true';
