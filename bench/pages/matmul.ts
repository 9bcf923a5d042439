// Benchmark harness for the matmul comparison (bench/matmul-compare.ts) on this page's WebGPU adapter
// (SwiftShader in headless Chromium): our generated kernel, tfjs-webgpu and onnxruntime-web's WebGPU EP.
// Driven by bench/matmul.mjs through `window.benchMatmul`; progress lines go to the console as `[matmul] ...`.
import { type CompareReport, compareMatmul } from '../matmul-compare.ts';
import { describeAdapterInfo } from '../matmul-timing.ts';
import { fullComputeLimits } from '../device-limits.ts';

/** What the driver may set for one run. */
export interface MatmulRunOptions {
  sizes: number[];
  budgetMs: number;
}

const log = (line: string) => console.log(`[matmul] ${line}`);

/** Loads a library, turning a failure into the reason its column stays empty. */
async function load<T>(what: string, f: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await f();
  } catch (err) {
    const error = `Cannot load ${what} in this page: ${(err as Error).message}`;
    log(error);
    return { error };
  }
}

async function openDevice(): Promise<{ device: GPUDevice; adapter: string }> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) throw new Error('Cannot run the matmul bench as this page has no WebGPU adapter: launch Chromium with --enable-unsafe-webgpu');
  const device = await adapter.requestDevice({ requiredLimits: fullComputeLimits(adapter) });
  device.addEventListener('uncapturederror', (e) => log(`uncaptured WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  return { device, adapter: describeAdapterInfo(adapter.info) };
}

const api = {
  /** Runs the comparison at `sizes` within `budgetMs` and returns its report. */
  async run(opts: MatmulRunOptions): Promise<CompareReport> {
    const { device, adapter } = await openDevice();
    const tf = await load('tfjs-webgpu', async () => {
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      return tf;
    });
    const ort = await load('onnxruntime-web/webgpu', async () => {
      const ort = await import('onnxruntime-web/webgpu');
      ort.env.wasm.wasmPaths = `${location.origin}/ort/`;
      // Threads would only idle beside the GPU work and take cores from SwiftShader.
      ort.env.wasm.numThreads = 1;
      ort.env.logLevel = 'error';
      return ort;
    });
    try {
      return await compareMatmul({ runtime: `chromium ${navigator.userAgent.match(/Chrom(?:e|ium)\/([\d.]+)/)?.[1] ?? '?'}`, device, adapter, ...opts, tf, ort, log });
    } finally {
      device.destroy();
    }
  },
};

/** What bench/matmul.mjs reaches through `window.benchMatmul`. */
export type MatmulBench = typeof api;

declare global {
  interface Window {
    benchMatmul: MatmulBench;
  }
}

window.benchMatmul = api;
document.body.dataset.ready = 'true';
