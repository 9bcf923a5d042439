// Test harness page for src/compute: each check runs the pool in this real browser (module workers,
// WebGPU, onnxruntime-web) and returns plain numbers for the spec to assert on; references are computed
// here on the CPU in f64, or with onnxruntime-web called directly in the page.
import { openDB } from 'idb';
import * as ort from 'onnxruntime-web/wasm';
import { ComputePool, computeWorkerUrl } from '../../src/compute/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import type { WgslTask } from '../../src/protocol/worker.ts';
import { ELEMENTWISE_BINDINGS, elementwiseDispatch, elementwiseParams, type ElementwiseOp } from '../../shaders/elementwise.ts';
import { MATMUL_BINDINGS, matmulDispatch, matmulParams, matmulWgsl as generateMatmulWgsl } from '../../shaders/matmul.ts';
import { elementwiseReference, matmulReference, randomFloats } from '../../shaders/testing/reference.ts';
import elementwiseWgsl from '../../shaders/elementwise.wgsl?raw';
import { renderTextImages } from './text-images.ts';

/** The default-configuration matmul as a plain WGSL kernel, for the generic WGSL path. */
const matmulWgsl = generateMatmulWgsl();

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;

/** A 1x1x1 matmul task on `source` whose input `a` declares `aDims` but carries `aBytes` bytes. */
function tinyMatmulTask(source: string, aDims: number[], aBytes: number): WgslTask {
  return {
    source,
    entryPoint: 'main',
    bindings: [...MATMUL_BINDINGS],
    inputs: [
      { name: 'a', dtype: 'float32', dims: aDims, data: new ArrayBuffer(aBytes) },
      { name: 'b', dtype: 'float32', dims: [1], data: new ArrayBuffer(4) },
      { name: 'params', dtype: 'uint32', dims: [4], data: matmulParams(1, 1, 1) },
    ],
    outputs: [{ name: 'c', dtype: 'float32', dims: [1] }],
    dispatch: [1, 1, 1],
  };
}

let pool: ComputePool | undefined;

function current(): ComputePool {
  if (!pool) throw new Error('Cannot run a check as no pool was created: call createPool() first');
  return pool;
}

/** max |a - e| / scale over the arrays. */
function maxScaledError(actual: Float32Array, expected: ArrayLike<number>, scale: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const s = Math.max(scale[i]!, 1e-30);
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / s);
  }
  return actual.length === expected.length ? worst : Infinity;
}

const checks = {
  /** Creates the pool (closing any previous one). */
  async createPool(opts: { cpuCap?: number; gpuCap?: number; crossOriginWorker?: boolean; backgroundTuning?: boolean } = {}): Promise<{ crossOriginIsolated: boolean; workerUrl: string }> {
    pool?.terminate();
    let workerUrl = computeWorkerUrl();
    if (opts.crossOriginWorker) {
      // Same server, other origin: 127.0.0.1 <-> localhost, so the pool must start it through its blob shim.
      workerUrl = new URL(workerUrl.href);
      workerUrl.hostname = workerUrl.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    }
    // Background tuning would share the GPU lane with the timing checks here; one test turns it on.
    pool = await ComputePool.create({ backgroundTuning: false, ...opts, workerUrl });
    return { crossOriginIsolated, workerUrl: workerUrl.href };
  },

  /** The pool's capability report and how long it took. */
  async capabilities(): Promise<{ caps: Capabilities; ms: number; cachedMs: number }> {
    const t0 = performance.now();
    const caps = await current().capabilities();
    const ms = performance.now() - t0;
    const t1 = performance.now();
    await current().capabilities();
    return { caps, ms, cachedMs: performance.now() - t1 };
  },

  /** Matmul through the pool vs f64; error scaled by sum_k |a_ik b_kj|. */
  async matmul(m: number, k: number, n: number): Promise<{ maxRelError: number; ms: number; gflops: number; dims: number[] }> {
    const a = randomFloats(m * k, 1);
    const b = randomFloats(k * n, 2);
    const ref = matmulReference(a, b, m, k, n);
    const task: WgslTask = {
      source: matmulWgsl,
      entryPoint: 'main',
      bindings: [...MATMUL_BINDINGS],
      inputs: [
        { name: 'a', dtype: 'float32', dims: [m, k], data: a.slice().buffer },
        { name: 'b', dtype: 'float32', dims: [k, n], data: b.slice().buffer },
        { name: 'params', dtype: 'uint32', dims: [4], data: matmulParams(m, n, k) },
      ],
      outputs: [{ name: 'c', dtype: 'float32', dims: [m, n] }],
      dispatch: matmulDispatch(m, n),
    };
    const t0 = performance.now();
    const [c] = await current().runWgsl(task);
    const ms = performance.now() - t0;
    return { maxRelError: maxScaledError(new Float32Array(c!.data), ref.c, ref.scale), ms, gflops: (2 * m * n * k) / (ms * 1e6), dims: c!.dims };
  },

  /** The stored matmul tuning records of this origin (IndexedDB `meshwork-tuning`). */
  async tuningRecords(): Promise<{ config: unknown; trials: number; complete?: boolean; gflops: number }[]> {
    const db = await openDB('meshwork-tuning', 1, {
      upgrade(d) {
        d.createObjectStore('matmul', { keyPath: 'key' });
      },
    });
    try {
      return await db.getAll('matmul');
    } finally {
      db.close();
    }
  },

  /** The built-in matmul (the adapter's tuned configuration, split to fit its limits) vs f64. */
  async matmulTuned(m: number, k: number, n: number): Promise<{ maxRelError: number; ms: number; dims: number[] }> {
    const a = randomFloats(m * k, 5);
    const b = randomFloats(k * n, 6);
    const ref = matmulReference(a, b, m, k, n);
    const t0 = performance.now();
    const c = await current().runMatmul({
      a: { name: 'a', dtype: 'float32', dims: [m, k], data: a.slice().buffer },
      b: { name: 'b', dtype: 'float32', dims: [k, n], data: b.slice().buffer },
    });
    const ms = performance.now() - t0;
    return { maxRelError: maxScaledError(new Float32Array(c.data), ref.c, ref.scale), ms, dims: c.dims };
  },

  /** Every element-wise op through the pool at an awkward length vs f64. */
  async elementwise(n: number): Promise<Record<ElementwiseOp, number>> {
    const a = randomFloats(n, 3);
    const b = randomFloats(n, 4);
    const alpha = Math.fround(-1.75);
    const beta = Math.fround(0.3125);
    const out = {} as Record<ElementwiseOp, number>;
    for (const op of ['add', 'mul', 'relu', 'affine'] as const) {
      const [y] = await current().runWgsl({
        source: elementwiseWgsl,
        entryPoint: 'main',
        bindings: [...ELEMENTWISE_BINDINGS],
        inputs: [
          { name: 'a', dtype: 'float32', dims: [n], data: a.slice().buffer },
          { name: 'b', dtype: 'float32', dims: [n], data: b.slice().buffer },
          { name: 'params', dtype: 'uint32', dims: [4], data: elementwiseParams(n, op, alpha, beta) },
        ],
        outputs: [{ name: 'y', dtype: 'float32', dims: [n] }],
        dispatch: elementwiseDispatch(n),
      });
      const ref = elementwiseReference(op, a, b, alpha, beta);
      const scale = op === 'affine' ? Array.from(a, (x) => Math.abs(x * alpha) + Math.abs(beta)) : Array.from(ref, Math.abs);
      out[op] = maxScaledError(new Float32Array(y!.data), ref, scale);
    }
    return out;
  },

  /** PP-OCRv4 detector on rendered text through the pool vs onnxruntime-web called in this page. */
  async onnx(opts: { batch: number; height: number; width: number; ep?: 'wasm' | 'webgpu' }): Promise<{
    maxAbsDiff: number; dims: number[]; poolMs: number; poolWarmMs: number; pageMs: number; cached: boolean; outMin: number; outMax: number;
  }> {
    const bytes = await (await fetch('/models/ppocr-det-v4.onnx')).arrayBuffer();
    const hash = await sha256Hex(bytes);
    const dims = [opts.batch, 3, opts.height, opts.width];
    // Rendered text, so the detector's probability map has real structure (near 1 on text, 0 elsewhere).
    const x = renderTextImages(opts.batch, opts.height, opts.width);

    const session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'] });
    await session.run({ x: new ort.Tensor('float32', x, dims) }); // warm-up, as the pool's second run below is
    const t0 = performance.now();
    const direct = await session.run({ x: new ort.Tensor('float32', x, dims) });
    const pageMs = performance.now() - t0;
    const expected = (direct[session.outputNames[0]!]!.data as Float32Array);
    await session.release();

    const p = current();
    const task = (model?: ArrayBuffer) => ({
      modelHash: hash,
      ...(model ? { model } : {}),
      inputs: [{ name: 'x', dtype: 'float32' as const, dims, data: x.slice().buffer }],
      outputNames: ['sigmoid_0.tmp_0'],
      ...(opts.ep ? { ep: opts.ep } : {}),
    });
    const t1 = performance.now();
    await p.runOnnx(task(bytes.slice(0)));
    const poolMs = performance.now() - t1;
    const cached = await p.hasOnnxSession(hash);
    const t2 = performance.now();
    const [y] = await p.runOnnx(task()); // no model bytes: the worker's cached session serves
    const poolWarmMs = performance.now() - t2;
    const actual = new Float32Array(y!.data);
    let maxAbsDiff = actual.length === expected.length ? 0 : Infinity;
    let outMin = Infinity;
    let outMax = -Infinity;
    for (let i = 0; i < expected.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(actual[i]! - expected[i]!));
      outMin = Math.min(outMin, actual[i]!);
      outMax = Math.max(outMax, actual[i]!);
    }
    return { maxAbsDiff, dims: y!.dims, poolMs, poolWarmMs, pageMs, cached, outMin, outMax };
  },

  /** A WGSL compile error as it surfaces on the main thread. */
  async compileError(): Promise<{ isMeshError: boolean; name: string; code: string; message: string }> {
    try {
      await current().runWgsl(tinyMatmulTask(matmulWgsl.replace('let kFull = K / BK;', 'let kFull = K / not_declared;'), [1], 4));
    } catch (err) {
      const e = err as MeshError;
      return { isMeshError: err instanceof MeshError, name: e.name, code: e.code, message: e.message };
    }
    return { isMeshError: false, name: '', code: '', message: 'no error' };
  },

  /** A bad argument (input bytes vs dims) as it surfaces on the main thread. */
  async badArgument(): Promise<{ isRangeError: boolean; message: string }> {
    try {
      await current().runWgsl(tinyMatmulTask(matmulWgsl, [4], 12));
    } catch (err) {
      return { isRangeError: err instanceof RangeError, message: (err as Error).message };
    }
    return { isRangeError: false, message: 'no error' };
  },

  /** Two tasks at gpuCap 0.25: the second starts only after ~3x the first's time (duty cycle). */
  async throttle(): Promise<{ firstMs: number; gapMs: number }> {
    const p = current();
    p.setCaps({ gpuCap: 0.25 });
    try {
      const starts: number[] = [];
      const ends: number[] = [];
      const run = () => {
        const a = randomFloats(256 * 256, 7);
        return p.runWgsl({
          source: matmulWgsl,
          entryPoint: 'main',
          bindings: [...MATMUL_BINDINGS],
          inputs: [
            { name: 'a', dtype: 'float32', dims: [256, 256], data: a.slice().buffer },
            { name: 'b', dtype: 'float32', dims: [256, 256], data: a.slice().buffer },
            { name: 'params', dtype: 'uint32', dims: [4], data: matmulParams(256, 256, 256) },
          ],
          outputs: [{ name: 'c', dtype: 'float32', dims: [256, 256] }],
          dispatch: matmulDispatch(256, 256),
        }).then(() => ends.push(performance.now()));
      };
      starts.push(performance.now());
      await Promise.all([run(), run()]);
      // ends[0] - starts[0] ~ first task; ends[1] - ends[0] ~ idle + second task.
      return { firstMs: ends[0]! - starts[0]!, gapMs: ends[1]! - ends[0]! };
    } finally {
      p.setCaps({ gpuCap: 1 });
    }
  },

  /** Terminates the pool and reports how a queued task ends. */
  async terminate(): Promise<{ code: string }> {
    const p = current();
    const pending = p.runWgsl({
      source: matmulWgsl,
      entryPoint: 'main',
      bindings: [...MATMUL_BINDINGS],
      inputs: [
        { name: 'a', dtype: 'float32', dims: [1], data: new ArrayBuffer(4) },
        { name: 'b', dtype: 'float32', dims: [1], data: new ArrayBuffer(4) },
        { name: 'params', dtype: 'uint32', dims: [4], data: matmulParams(1, 1, 1) },
      ],
      outputs: [{ name: 'c', dtype: 'float32', dims: [1] }],
      dispatch: [1, 1, 1],
    });
    p.terminate();
    pool = undefined;
    try {
      await pending;
      return { code: 'resolved' };
    } catch (err) {
      return { code: (err as MeshError).code };
    }
  },
};

/** What specs reach through `window.computeTest`. */
export type ComputeChecks = typeof checks;

declare global {
  interface Window {
    computeTest: ComputeChecks;
  }
}

window.computeTest = checks;
document.body.dataset.ready = 'true';
