// The matmul comparison of bench/matmul-compare.ts in Deno on its own WebGPU adapter (llvmpipe without a GPU):
// our kernel (every candidate) vs tfjs-webgpu vs onnxruntime-web's WebGPU EP, one JSON document on stdout,
// progress on stderr. Run: deno run -A --unstable-webgpu bench/matmul_deno.ts
// Env: MESHWORK_BENCH_MATMUL_SIZES (default 256,512,1024,2048), MESHWORK_BENCH_MATMUL_BUDGET_S (default 300).
import { compareMatmul } from './matmul-compare.ts';
import { describeAdapterInfo } from './matmul-timing.ts';
import { fullComputeLimits } from './device-limits.ts';

const sizes = (Deno.env.get('MESHWORK_BENCH_MATMUL_SIZES') ?? '256,512,1024,2048').split(',').map((s) => Number(s.trim()));
if (sizes.some((n) => !Number.isInteger(n) || n < 4)) {
  throw new RangeError(`Cannot run the matmul bench as MESHWORK_BENCH_MATMUL_SIZES must list integers >= 4: current value is ${sizes.join(',')}`);
}
const budgetMs = Number(Deno.env.get('MESHWORK_BENCH_MATMUL_BUDGET_S') ?? 300) * 1000;
const log = (line: string) => console.error(`[matmul deno] ${line}`);

const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) throw new Error('Cannot run the matmul bench as Deno found no WebGPU adapter: run with --unstable-webgpu');
const device = await adapter.requestDevice({ requiredLimits: fullComputeLimits(adapter) });
device.addEventListener('uncapturederror', (e) => log(`uncaptured WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));

/** Loads a library, turning a failure into the reason its column stays empty. */
async function load<T>(what: string, f: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await f();
  } catch (err) {
    const error = `Cannot load ${what} in Deno ${Deno.version.deno}: ${(err as Error).message}`;
    log(error);
    return { error };
  }
}

const tf = await load('tfjs-webgpu', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  return tf;
});
const ort = await load('onnxruntime-web/webgpu', async () => {
  const ort = await import('onnxruntime-web/webgpu');
  // Its wasm files resolve next to the module in node_modules; threads would only idle beside the GPU work.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return ort;
});

const report = await compareMatmul({ runtime: `deno ${Deno.version.deno}`, device, adapter: describeAdapterInfo(adapter.info), sizes, budgetMs, tf, ort, log });
console.log(JSON.stringify(report));
device.destroy();
// ORT's runtime keeps timers alive; the document is out, so end here.
Deno.exit(0);
