/// <reference lib="deno.webgpu" />
// WGSL matmul on the GPU machine (Deno's WebGPU over Vulkan; see ../shared/gpu/README.md): a naive kernel, a
// blocked kernel whose accumulators spill (bench/gpu/variants.ts), and every candidate of shaders/matmul.ts in
// its scalar and vec4 variants, at each square size. Prints TFLOP/s as a markdown table, then one line
// `JSON {...}` for bench/gpu/run.sh's ratio table against cuBLAS. Self-contained: no npm imports.
// Every result is checked on sampled entries against an f64 CPU reference; a wrong one is marked and never best.
// Run: deno run -A --unstable-webgpu bench/gpu/matmul.ts
// Env: MESHWORK_GPU_SIZES (default 1024,2048,4096,8192), MESHWORK_GPU_BUDGET_S (default 420).
import { MATMUL_CANDIDATES, matmulConfigFits, matmulConfigName, matmulDispatch, matmulWgsl } from '../../shaders/matmul.ts';
import { compileMatmulKernel, freshSeed, MatmulProblem, type Measurement, measurement, randomMatrix, sampledError, samplePositions } from '../matmul-timing.ts';
import { fullComputeLimits } from '../device-limits.ts';
import { type MatmulVariant, NAIVE, SPILL } from './variants.ts';

/** Each timed repeat lasts about this long (many dispatches in one command buffer where they are quick). */
const TARGET_MS = 200;
const MAX_ITERS = 1000;
const REPS = 5;
const SAMPLES = 16;

const sizes = (Deno.env.get('MESHWORK_GPU_SIZES') ?? '1024,2048,4096,8192').split(',').map((s) => Number(s.trim()));
if (sizes.some((n) => !Number.isInteger(n) || n < 4)) {
  throw new RangeError(`Cannot run the GPU matmul bench as MESHWORK_GPU_SIZES must list integers >= 4: current value is ${sizes.join(',')}`);
}
const deadline = performance.now() + Number(Deno.env.get('MESHWORK_GPU_BUDGET_S') ?? 420) * 1000;
const log = (line: string) => console.error(`[gpu matmul] ${line}`);

const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('Cannot run the GPU matmul bench as Deno found no WebGPU adapter: run with --unstable-webgpu and VK_DRIVER_FILES set');
const device = await adapter.requestDevice({ requiredLimits: fullComputeLimits(adapter) });
device.addEventListener('uncapturederror', (e) => log(`uncaptured WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
void device.lost.then((info) => info.reason === 'destroyed' || log(`device lost: ${info.reason} ${info.message}`));
const adapterName = [adapter.info.vendor, adapter.info.architecture, adapter.info.device, adapter.info.description].filter((s) => s).join(' / ');
log(`adapter: ${adapterName}; maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize}`);

// Every kernel: the two reference variants, then each fitting candidate as scalar and vec4.
const kernels: MatmulVariant[] = [NAIVE, SPILL];
for (const c of MATMUL_CANDIDATES.filter((c) => matmulConfigFits(c, device.limits))) {
  for (const vec4 of [false, true]) {
    kernels.push({ name: `ours ${matmulConfigName(c)}${vec4 ? ' vec4' : ''}`, wgsl: matmulWgsl(c, vec4), dispatch: (m, n) => matmulDispatch(m, n, c) });
  }
}
const pipelines = new Map(kernels.map((k) => {
  const p = compileMatmulKernel(device, k.wgsl, k.name);
  p.catch(() => {});
  return [k.name, p] as const;
}));

type Cell = Measurement | { error: string } | { skipped: string };
const results: Record<string, Record<number, Cell>> = Object.fromEntries(kernels.map((k) => [k.name, {}]));

async function measure(problem: MatmulProblem, k: MatmulVariant, inputs: { a: Float32Array<ArrayBuffer>; b: Float32Array<ArrayBuffer>; positions: number[] }): Promise<Measurement> {
  const { m, n } = problem.dims;
  const pipeline = await pipelines.get(k.name)!;
  const dispatch = k.dispatch(m, n);
  problem.clearOutput();
  const bind = problem.bind(pipeline);
  device.pushErrorScope('validation');
  await problem.time(pipeline, bind, dispatch, 1); // warm-up
  const one = await problem.time(pipeline, bind, dispatch, 1);
  const iters = Math.min(MAX_ITERS, Math.max(1, Math.ceil(TARGET_MS / Math.max(one, 0.01))));
  const ms: number[] = [];
  for (let r = 0; r < REPS; r++) ms.push((await problem.time(pipeline, bind, dispatch, iters)) / iters);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation: ${err.message}`);
  const c = await problem.readOutput();
  return measurement(ms, iters, 2 * m * n * problem.dims.k, sampledError(inputs.a, inputs.b, c, problem.dims, inputs.positions));
}

for (const n of sizes) {
  const seed = freshSeed();
  const inputs = { a: randomMatrix(n * n, seed), b: randomMatrix(n * n, seed + 1), positions: samplePositions(n, n, SAMPLES, seed) };
  const problem = new MatmulProblem(device, { m: n, k: n, n }, inputs.a, inputs.b);
  try {
    for (const k of kernels) {
      if (performance.now() > deadline) {
        results[k.name]![n] = { skipped: 'budget' };
        continue;
      }
      try {
        const r = await measure(problem, k, inputs);
        results[k.name]![n] = r;
        log(`n=${n} ${k.name}: ${(r.gflops / 1000).toPrecision(3)} TFLOP/s (median of ${REPS} x${r.iters}, err ${r.maxErr.toExponential(1)}${r.ok ? '' : ' WRONG'})`);
      } catch (err) {
        results[k.name]![n] = { error: (err as Error).message };
        log(`n=${n} ${k.name}: failed: ${(err as Error).message}`);
      }
    }
  } finally {
    problem.destroy();
  }
}

// Our best verified candidate per size.
const bestOurs: Record<number, { name: string; tflops: number } | null> = {};
for (const n of sizes) {
  let best: { name: string; tflops: number } | null = null;
  for (const k of kernels) {
    const r = results[k.name]![n];
    if (k.name.startsWith('ours ') && r && 'gflops' in r && r.ok && (!best || r.gflops / 1000 > best.tflops)) best = { name: k.name, tflops: r.gflops / 1000 };
  }
  bestOurs[n] = best;
}

const cell = (r: Cell | undefined) => (!r ? '' : 'gflops' in r ? `${(r.gflops / 1000).toPrecision(3)}${r.ok ? '' : ' WRONG'}` : 'error' in r ? 'failed' : '-');
console.log(`WGSL f32 matmul, TFLOP/s (median of ${REPS}; ${adapterName})\n`);
console.log(`| kernel | ${sizes.map((n) => `n=${n}`).join(' | ')} |`);
console.log(`|---|${sizes.map(() => '---:').join('|')}|`);
for (const k of kernels) console.log(`| ${k.name} | ${sizes.map((n) => cell(results[k.name]![n])).join(' | ')} |`);
console.log(`| **ours, best** | ${sizes.map((n) => (bestOurs[n] ? `**${bestOurs[n].tflops.toPrecision(3)}** (${bestOurs[n].name.slice(5)})` : '-')).join(' | ')} |`);
console.log('');
console.log(`JSON ${JSON.stringify({ adapter: adapterName, sizes, bestOurs, results })}`);
device.destroy();
