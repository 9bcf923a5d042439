// The kernel bandwidth measurement of bench/kernels-timing.ts in Deno on its own WebGPU adapter (llvmpipe
// without a GPU): one JSON document on stdout. Run: deno run -A --unstable-webgpu bench/kernels_deno.ts
// Env: MESHWORK_BENCH_KERNELS_N (floats, default 16M), MESHWORK_BENCH_KERNELS_COLS (default 1024),
// MESHWORK_BENCH_KERNELS_WG (row-kernel workgroup width, default 64), MESHWORK_BENCH_KERNELS_BUDGET_MS (default 8000).
import { measureKernels, type KernelsOptions } from './kernels-timing.ts';
import { fullComputeLimits } from './device-limits.ts';

const read = (name: string) => Deno.readTextFile(new URL(`../shaders/${name}.wgsl`, import.meta.url));
const env = (name: string) => {
  const v = Deno.env.get(name);
  return v === undefined ? undefined : Number(v);
};

const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) throw new Error('Cannot run the kernels bench as Deno found no WebGPU adapter: run with --unstable-webgpu');
const device = await adapter.requestDevice({ requiredLimits: fullComputeLimits(adapter) });
const errors: string[] = [];
device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));

const opts: KernelsOptions = {};
const n = env('MESHWORK_BENCH_KERNELS_N');
const cols = env('MESHWORK_BENCH_KERNELS_COLS');
const workgroup = env('MESHWORK_BENCH_KERNELS_WG');
const budgetMs = env('MESHWORK_BENCH_KERNELS_BUDGET_MS');
if (budgetMs !== undefined) opts.budgetMs = budgetMs;
if (n !== undefined) opts.n = n;
if (cols !== undefined) opts.cols = cols;
if (workgroup !== undefined) opts.workgroup = workgroup;

const sources = { elementwise: await read('elementwise'), softmax: await read('softmax'), layerNorm: await read('layernorm') };
const name = adapter.info.description || adapter.info.architecture || 'unknown adapter';
const report = await measureKernels(device, sources, { runtime: `deno ${Deno.version.deno}`, adapter: name }, opts);
if (errors.length) throw new Error(`Cannot trust the kernels bench as WebGPU reported: ${errors.join('; ')}`);
console.log(JSON.stringify(report));
device.destroy();
