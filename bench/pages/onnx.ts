// Benchmark harness for the ONNX path: the PP-OCRv4 detector over rendered text images, (a) through a
// ComputePool (what a contributor runs: the compute worker, workers/onnx/runner.ts) with an explicit EP, and
// (b) with onnxruntime-web called directly in this page, where the webgpu EP's IO binding and graph capture
// can be switched on to measure them. Inputs are prepared outside every timed region.
import type * as Ort from 'onnxruntime-web';
import { ComputePool } from '../../src/compute/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

/** How the direct webgpu session is driven. */
export type WebGpuMode = 'plain' | 'gpu-output' | 'io-binding' | 'graph-capture';

const MODEL_URL = '/models/ppocr-det-v4.onnx';
const INPUT = 'x';
const OUTPUT = 'sigmoid_0.tmp_0';

let model: { bytes: ArrayBuffer; hash: string } | undefined;
let pool: ComputePool | undefined;
const direct = new Map<string, Direct>();
const inputs = new Map<number, Float32Array>();

interface Direct {
  ort: typeof Ort;
  session: Ort.InferenceSession;
  mode: WebGpuMode | 'wasm';
  dims: number[];
  x: Float32Array;
  /** The input buffer graph capture is bound to. */
  gpuInput?: GPUBuffer;
  device?: GPUDevice;
}

async function modelBytes(): Promise<{ bytes: ArrayBuffer; hash: string }> {
  if (!model) {
    const bytes = await (await fetch(MODEL_URL)).arrayBuffer();
    model = { bytes, hash: await sha256Hex(bytes) };
  }
  return model;
}

/** The first `batch` images of one deterministic set (image i never depends on the batch size). */
function input(batch: number, height: number, width: number): Float32Array {
  const key = batch * 1e8 + height * 1e4 + width;
  let x = inputs.get(key);
  if (!x) inputs.set(key, (x = renderTextImages(batch, height, width)));
  return x;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function openedPool(): ComputePool {
  if (!pool) throw new Error('Cannot run on the pool as none is open: call openPool() first');
  return pool;
}

function openedDirect(id: string): Direct {
  const d = direct.get(id);
  if (!d) throw new Error(`Cannot run directly as no session '${id}' is open: call openDirect() first`);
  return d;
}

async function runDirect(d: Direct): Promise<Float32Array> {
  const { ort, session } = d;
  if (d.mode === 'graph-capture') {
    // The captured graph is bound to one input buffer and its first run's output buffers: refill the input,
    // replay, read the output back, and keep the output tensor alive for the next replay.
    d.device!.queue.writeBuffer(d.gpuInput!, 0, d.x.buffer, d.x.byteOffset, d.x.byteLength);
    const out = await session.run({ [INPUT]: ort.Tensor.fromGpuBuffer(d.gpuInput!, { dataType: 'float32', dims: d.dims }) });
    return (await out[OUTPUT]!.getData()) as Float32Array;
  }
  let input: GPUBuffer | undefined;
  try {
    let feed: Ort.Tensor;
    if (d.mode === 'io-binding') {
      // As workers/onnx/run-session.ts does per task: a fresh GPU buffer written straight from the input.
      input = d.device!.createBuffer({ size: Math.ceil(d.x.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
      d.device!.queue.writeBuffer(input, 0, d.x.buffer, d.x.byteOffset, d.x.byteLength);
      feed = ort.Tensor.fromGpuBuffer(input, { dataType: 'float32', dims: d.dims });
    } else {
      feed = new ort.Tensor('float32', d.x, d.dims);
    }
    const out = await session.run({ [INPUT]: feed });
    // 'plain' outputs are already on the CPU; GPU-resident ones ('gpu-output', 'io-binding') are read back once.
    const data = (await out[OUTPUT]!.getData(true)) as Float32Array;
    for (const t of Object.values(out)) t.dispose();
    return data;
  } finally {
    input?.destroy();
  }
}

const api = {
  /** Context facts and the deterministic input images (f32 bytes as base64) for the native baseline. */
  async prepare(batch: number, height: number, width: number): Promise<{ crossOriginIsolated: boolean; cores: number; adapter: string; modelUrl: string; inputBase64: string }> {
    await modelBytes();
    const x = input(batch, height, width);
    const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
    const info = adapter?.info;
    return {
      crossOriginIsolated,
      cores: navigator.hardwareConcurrency,
      adapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : 'none',
      modelUrl: MODEL_URL,
      inputBase64: base64(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)),
    };
  },

  /** A pool whose ONNX worker runs ORT with `threads` (1 or 2) WASM threads, unthrottled. */
  async openPool(threads: number): Promise<{ threads: number }> {
    pool?.terminate();
    // ortThreads(cores, cap) = ceil(cores * cap): a cap of threads / cores gives exactly that many; the cap then
    // goes back to 1 so the duty cycle never idles between measured runs (threads stay as created).
    const cores = navigator.hardwareConcurrency;
    pool = await ComputePool.create({ cpuCap: Math.max(0.05, threads / cores), backgroundTuning: false });
    pool.setCaps({ cpuCap: 1 });
    return { threads };
  },

  /**
   * One task through the pool (the model travels when asked, else only when the worker holds no session for
   * it). Returns ms (queue + transfer + run + transfer back: what a contributor's task takes) and, when asked,
   * the output bytes.
   */
  async poolRun(opts: { batch: number; height: number; width: number; ep: 'auto' | 'wasm' | 'webgpu'; sendModel?: boolean; output?: boolean }): Promise<{ ms: number; outputBase64?: string }> {
    const p = openedPool();
    const { bytes, hash } = await modelBytes();
    const x = input(opts.batch, opts.height, opts.width);
    // Without bytes a worker runs any session it holds for the model, whatever its EP: a first task on a
    // new EP must send them.
    const sendModel = opts.sendModel ?? !(await p.hasOnnxSession(hash));
    const task = {
      modelHash: hash,
      ...(sendModel ? { model: bytes.slice(0) } : {}),
      inputs: [{ name: INPUT, dtype: 'float32' as const, dims: [opts.batch, 3, opts.height, opts.width], data: x.slice().buffer }],
      outputNames: [OUTPUT],
      ep: opts.ep,
    };
    const t0 = performance.now();
    const [y] = await p.runOnnx(task);
    const ms = performance.now() - t0;
    return opts.output ? { ms, outputBase64: base64(new Uint8Array(y!.data)) } : { ms };
  },

  /**
   * Opens an ORT session directly in this page under `id` (several may be open, to interleave their runs).
   * `mode` applies to webgpu only; the thread count takes effect only for the first session of a runtime.
   */
  async openDirect(
    id: string,
    opts: { ep: 'wasm' | 'webgpu'; threads: number; mode: WebGpuMode; batch: number; height: number; width: number; options?: Ort.InferenceSession.SessionOptions },
  ): Promise<{ createMs: number }> {
    await api.closeDirect(id);
    const ort: typeof Ort = opts.ep === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
    ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
    ort.env.wasm.numThreads = opts.threads;
    ort.env.logLevel = 'error';
    const dims = [opts.batch, 3, opts.height, opts.width];
    const gpu = opts.ep === 'webgpu';
    const mode = gpu ? opts.mode : 'wasm';
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(new Uint8Array((await modelBytes()).bytes), {
      executionProviders: [opts.ep],
      graphOptimizationLevel: 'all',
      ...opts.options,
      ...(mode === 'gpu-output' || mode === 'io-binding' || mode === 'graph-capture' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      ...(mode === 'graph-capture'
        ? {
          enableGraphCapture: true,
          // Graph capture needs static shapes: pin the model's dynamic dims to this input's.
          freeDimensionOverrides: { 'p2o.DynamicDimension.0': opts.batch, 'p2o.DynamicDimension.1': opts.height, 'p2o.DynamicDimension.2': opts.width },
        }
        : {}),
    });
    const createMs = performance.now() - t0;
    const d: Direct = { ort, session, mode, dims, x: input(opts.batch, opts.height, opts.width) };
    if (mode === 'io-binding' || mode === 'graph-capture') d.device = (await ort.env.webgpu.device) as GPUDevice;
    if (mode === 'graph-capture') {
      d.gpuInput = d.device!.createBuffer({ size: Math.ceil(d.x.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    }
    direct.set(id, d);
    return { createMs };
  },

  /** One direct run of session `id`; ms and the first output values. */
  async directRun(id: string): Promise<{ ms: number; head: number[] }> {
    const d = openedDirect(id);
    const t0 = performance.now();
    const y = await runDirect(d);
    const ms = performance.now() - t0;
    return { ms, head: Array.from(y.subarray(0, 8)) };
  },

  /** The full output of one direct run of session `id`, as base64 f32 bytes. */
  async directOutput(id: string): Promise<string> {
    const y = await runDirect(openedDirect(id));
    return base64(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
  },

  /** Releases direct session `id`, or all of them. */
  async closeDirect(id?: string): Promise<void> {
    for (const [key, d] of [...direct]) {
      if (id !== undefined && key !== id) continue;
      direct.delete(key);
      await d.session.release().catch(() => undefined);
      d.gpuInput?.destroy();
    }
  },

  async close(): Promise<void> {
    await api.closeDirect();
    pool?.terminate();
    pool = undefined;
  },
};

/** What bench/onnx.mjs reaches through `window.benchOnnx`. */
export type BenchOnnx = typeof api;

declare global {
  interface Window {
    benchOnnx: BenchOnnx;
  }
}

window.benchOnnx = api;
document.body.dataset.ready = 'true';
