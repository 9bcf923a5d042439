// Benchmark harness for the ONNX path: the PP-OCRv4 detector over rendered text images, (a) through a
// ComputePool (what a contributor runs: the compute worker, workers/onnx/runner.ts) with an explicit EP, and
// (b) with onnxruntime-web called directly in this page, where the webgpu EP's IO binding and graph capture
// can be switched on to measure them. Inputs are prepared outside every timed region.
import type * as Ort from 'onnxruntime-web';
import { ComputePool } from '../../src/compute/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

/** How the direct webgpu session is driven. */
export type WebGpuMode = 'plain' | 'io-binding' | 'graph-capture';

const MODEL_URL = '/models/ppocr-det-v4.onnx';
const INPUT = 'x';
const OUTPUT = 'sigmoid_0.tmp_0';

let model: { bytes: ArrayBuffer; hash: string } | undefined;
let pool: ComputePool | undefined;
let direct: Direct | undefined;
const inputs = new Map<number, Float32Array>();

interface Direct {
  ort: typeof Ort;
  session: Ort.InferenceSession;
  mode: WebGpuMode | 'wasm';
  dims: number[];
  x: Float32Array;
  /** The bound input buffer (io-binding, graph-capture). */
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

function openedDirect(): Direct {
  if (!direct) throw new Error('Cannot run directly as no session is open: call openDirect() first');
  return direct;
}

async function runDirect(d: Direct): Promise<Float32Array> {
  const { ort, session } = d;
  if (d.gpuInput && d.device) {
    // IO binding: the input goes straight into a GPU buffer (no copy through the wasm heap), the output
    // stays on the GPU until one getData() reads it back.
    d.device.queue.writeBuffer(d.gpuInput, 0, d.x.buffer, d.x.byteOffset, d.x.byteLength);
    const feed = ort.Tensor.fromGpuBuffer(d.gpuInput, { dataType: 'float32', dims: d.dims });
    const out = await session.run({ [INPUT]: feed });
    const y = out[OUTPUT]!;
    const data = (await y.getData()) as Float32Array;
    y.dispose();
    return data;
  }
  const out = await session.run({ [INPUT]: new ort.Tensor('float32', d.x, d.dims) });
  const data = out[OUTPUT]!.data as Float32Array;
  for (const t of Object.values(out)) t.dispose();
  return data;
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
    pool = await ComputePool.create({ cpuCap: Math.max(0.05, threads / cores) });
    pool.setCaps({ cpuCap: 1 });
    return { threads };
  },

  /** One task through the pool; the model travels only the first time. Returns ms and the first output values. */
  async poolRun(batch: number, height: number, width: number, ep: 'wasm' | 'webgpu'): Promise<{ ms: number; head: number[] }> {
    const p = openedPool();
    const { bytes, hash } = await modelBytes();
    const x = input(batch, height, width);
    const needModel = !(await p.hasOnnxSession(hash));
    const task = {
      modelHash: hash,
      ...(needModel ? { model: bytes.slice(0) } : {}),
      inputs: [{ name: INPUT, dtype: 'float32' as const, dims: [batch, 3, height, width], data: x.slice().buffer }],
      outputNames: [OUTPUT],
      ep,
    };
    const t0 = performance.now();
    const [y] = await p.runOnnx(task);
    const ms = performance.now() - t0;
    return { ms, head: Array.from(new Float32Array(y!.data, 0, 8)) };
  },

  /** Opens an ORT session directly in this page. `mode` applies to webgpu only. */
  async openDirect(opts: { ep: 'wasm' | 'webgpu'; threads: number; mode: WebGpuMode; batch: number; height: number; width: number }): Promise<{ createMs: number }> {
    await api.closeDirect();
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
      ...(mode === 'io-binding' || mode === 'graph-capture' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
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
    if (mode === 'io-binding' || mode === 'graph-capture') {
      const device = (await ort.env.webgpu.device) as GPUDevice;
      d.device = device;
      d.gpuInput = device.createBuffer({ size: Math.ceil(d.x.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    }
    direct = d;
    return { createMs };
  },

  /** One direct run; ms and the first output values. */
  async directRun(): Promise<{ ms: number; head: number[] }> {
    const d = openedDirect();
    const t0 = performance.now();
    const y = await runDirect(d);
    const ms = performance.now() - t0;
    return { ms, head: Array.from(y.subarray(0, 8)) };
  },

  /** The full output of one direct run, as base64 f32 bytes (for comparing with the native run). */
  async directOutput(): Promise<string> {
    const y = await runDirect(openedDirect());
    return base64(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
  },

  async closeDirect(): Promise<void> {
    const d = direct;
    direct = undefined;
    if (!d) return;
    await d.session.release().catch(() => undefined);
    d.gpuInput?.destroy();
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
