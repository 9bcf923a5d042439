/**
 * The matmul comparison shared by the Chromium page (bench/pages/matmul.ts) and Deno (bench/matmul_deno.ts):
 * C = A x B for square random f32 inputs at each size, timed for every candidate of our generated kernel
 * (shaders/matmul.ts), tfjs `matMul` on its 'webgpu' backend, and onnxruntime-web's WebGPU EP on a one-node
 * MatMul model, with inputs and outputs on the GPU ('gpu-buffer') and, apart, with CPU tensors in and out.
 * Every competitor is checked on sampled entries against an f64 reference, so a fast wrong result never wins.
 *
 * Time is bounded for software adapters (~1 GFLOP/s): each competitor's rate at the previous size predicts
 * its next product; quick products get a warm-up and three repeats of ~150 ms, slow ones (>= 1 s) two
 * repeats and very slow ones (>= 2 s) a single run; where our best candidate needs >= 5 s, only the best two
 * of the previous size run. A measurement predicted to end past the budget is skipped and says so.
 * The libraries are passed in (loaded by each runtime its own way); only their types are imported here.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-web';
import {
  MATMUL_CANDIDATES,
  MATMUL_DEFAULT,
  type MatmulConfig,
  matmulConfigFits,
  matmulConfigName,
  matmulDispatch,
  matmulFlops,
  type MatmulLimits,
  matmulUsesVec4,
  matmulWgsl,
} from '../shaders/matmul.ts';
import { autotuneMatmul } from '../workers/gpu/autotune.ts';
import { ONNX_MATMUL_NAMES, onnxMatmulModel } from './onnx-matmul-model.ts';
import {
  compileMatmulKernel,
  type F32,
  freshSeed,
  type MatmulInputs,
  MatmulProblem,
  type Measurement,
  measureKernel,
  measurement,
  randomMatrix,
  sampledError,
  samplePositions,
  timeRepeats,
  type TimingPlan,
  describeDevice,
} from './matmul-timing.ts';

/** A competitor's result at one size: measured, skipped (budget, pruning) or failed. */
export type Outcome = Measurement | { skipped: string } | { error: string };

/** Our kernel with one configuration at one size. */
export type OursOutcome = { name: string; vec4: boolean } & Outcome;

/** Everything measured at one size. */
export interface SizeResult {
  n: number;
  /** Seed of A (B uses seed + 1). */
  seed: number;
  ours: OursOutcome[];
  /** Our fastest verified candidate at this size. */
  best: { name: string; gflops: number } | null;
  tfjs: Outcome;
  /** ORT WebGPU EP, inputs and outputs as GPU buffers: the kernel without transfers. */
  ortGpu: Outcome;
  /** ORT WebGPU EP with CPU tensors in and out: upload + kernel + readback per run. */
  ortCpu: Outcome;
}

/** The document both runtimes print. */
export interface CompareReport {
  runtime: string;
  /** Adapter each side ran on (vendor / architecture / description where the runtime tells). */
  adapters: { ours: string; tfjs: string | null; ort: string | null };
  /** Why a library did not load (its columns are then empty). */
  failures: { tfjs?: string; ort?: string };
  /** What workers/gpu/autotune.ts picks on this device, and its rate there. */
  autotune: { config: string; gflops: number; n: number; trials: { name: string; gflops: number }[]; skipped: number; ms: number } | { error: string };
  /** Name of the configuration used when nothing was tuned (MATMUL_DEFAULT). */
  defaultConfig: string;
  /**
   * Pipeline creation time of our candidates, summed (never inside a timing; software adapters may defer the
   * real compilation to the first dispatch, which is then in the warm-up or, at single-run sizes, already done).
   */
  compileMs: number;
  /** Pipelines created (one per candidate and variant used). */
  compiled: number;
  sizes: SizeResult[];
  budgetMs: number;
  elapsedMs: number;
}

/** What a runtime hands to the comparison. */
export interface CompareOptions {
  runtime: string;
  device: GPUDevice;
  adapter: string;
  sizes: readonly number[];
  budgetMs: number;
  /** tfjs with the 'webgpu' backend registered, or why it could not be loaded. */
  tf: typeof Tf | { error: string };
  /** onnxruntime-web's webgpu build with its wasm paths set, or why it could not be loaded. */
  ort: typeof Ort | { error: string };
  log: (line: string) => void;
}

/** The parts of tfjs' WebGPUBackend this bench touches (its public fields). */
interface TfWebGpuBackend {
  device: GPUDevice;
  uploadToGPU(dataId: object): void;
}

/** Sampled entries checked per product. */
const SAMPLES = 24;
/** Predicted ms per product from which repeats drop to two (no warm-up), then to one. */
const SLOW_MS = 1000;
const VERY_SLOW_MS = 2000;
/** Predicted ms per product of our best candidate from which only the best two of the previous size run. */
const PRUNE_MS = 5000;
/** A first-ever run (compilation included) at least this long leaves a single timed repeat. */
const COLD_SLOW_MS = 6000;
/** Quick products are repeated within one timed run until it lasts about this long. */
const TARGET_REP_MS = 150;

/** The timing plan for a product predicted to take `estMs` (NaN: unknown, treated as quick). */
export function planFor(estMs: number): TimingPlan {
  if (estMs >= VERY_SLOW_MS) return { warmup: false, reps: 1, iters: 1 };
  if (estMs >= SLOW_MS) return { warmup: false, reps: 2, iters: 1 };
  // Unknown cost: the warm-up (which may include shader compilation, ~2 s on SwiftShader) decides.
  if (!Number.isFinite(estMs)) return { warmup: true, reps: 3, iters: 1, targetMs: TARGET_REP_MS, slowMs: COLD_SLOW_MS };
  return { warmup: true, reps: 3, iters: 1, targetMs: TARGET_REP_MS };
}

/** Products a plan runs for a product predicted to take `estMs`. */
function products(plan: TimingPlan, estMs: number): number {
  const iters = plan.targetMs === undefined ? plan.iters : Math.min(8, Math.max(1, Math.round(plan.targetMs / Math.max(estMs, 0.1))));
  return (plan.warmup ? 1 : 0) + plan.reps * iters;
}

function isMeasured(o: Outcome): o is Measurement {
  return 'gflops' in o;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs the whole comparison; never throws for one competitor's failure (it is recorded instead). */
export async function compareMatmul(opts: CompareOptions): Promise<CompareReport> {
  const started = performance.now();
  const deadline = started + opts.budgetMs;
  const { device, log } = opts;
  const failures: CompareReport['failures'] = {};
  if ('error' in opts.tf) failures.tfjs = opts.tf.error;
  if ('error' in opts.ort) failures.ort = opts.ort.error;
  const tf = 'error' in opts.tf ? undefined : opts.tf;
  const ort = 'error' in opts.ort ? undefined : opts.ort;

  const limits: MatmulLimits = device.limits;
  const configs = MATMUL_CANDIDATES.filter((c) => matmulConfigFits(c, limits));
  const autotune = await runAutotune(device, limits, log);

  // Compile each candidate's variant for a size on first use: on software adapters a pipeline of the larger
  // tiles takes seconds to build, and compiling is not what is measured (its total is reported apart).
  let compileMs = 0;
  const pipelines = new Map<string, Promise<GPUComputePipeline>>();
  const pipelineFor = (c: MatmulConfig, vec4: boolean): Promise<GPUComputePipeline> => {
    const key = `${matmulConfigName(c)}${vec4 ? ' vec4' : ''}`;
    let p = pipelines.get(key);
    if (!p) {
      const t0 = performance.now();
      p = compileMatmulKernel(device, matmulWgsl(c, vec4), key).then((pipeline) => {
        const ms = performance.now() - t0;
        compileMs += ms;
        log(`compiled ${key} in ${ms.toFixed(0)} ms`);
        return pipeline;
      });
      pipelines.set(key, p);
    }
    return p;
  };

  const tfjs = tf ? await TfjsSide.open(tf).catch((err: unknown) => ((failures.tfjs = message(err)), undefined)) : undefined;
  const ortSide = ort ? await OrtSide.open(ort).catch((err: unknown) => ((failures.ort = message(err)), undefined)) : undefined;

  // GFLOP/s of each competitor at the previous size, to predict the next; a competitor not measured yet is
  // predicted at the slowest rate seen so far (nothing is known before the first measurement).
  const rates = new Map<string, number>();
  const estimate = (key: string, n: number) => {
    const r = rates.get(key) ?? (rates.size > 0 ? Math.min(...rates.values()) : undefined);
    return r === undefined ? NaN : matmulFlops(n, n, n) / (r * 1e6);
  };
  const sizes: SizeResult[] = [];

  for (const n of opts.sizes) {
    const seed = freshSeed();
    const a = randomMatrix(n * n, seed);
    const b = randomMatrix(n * n, seed + 1);
    const positions = samplePositions(n, n, SAMPLES, seed);
    const inputs = { a, b, positions };
    const flops = matmulFlops(n, n, n);
    const vec4 = matmulUsesVec4(n, n);
    const result: SizeResult = { n, seed, ours: [], best: null, tfjs: { skipped: 'not loaded' }, ortGpu: { skipped: 'not loaded' }, ortCpu: { skipped: 'not loaded' } };

    // Our candidates, fastest at the previous size first; at very slow sizes only the best two go on.
    const ranked = [...configs].sort((x, y) => (rates.get(`ours ${matmulConfigName(y)}`) ?? 0) - (rates.get(`ours ${matmulConfigName(x)}`) ?? 0));
    const keepTwo = rates.has(`ours ${matmulConfigName(ranked[0]!)}`) && estimate(`ours ${matmulConfigName(ranked[0]!)}`, n) >= PRUNE_MS;
    const problem = new MatmulProblem(device, { m: n, k: n, n }, a, b);

    /** Times one competitor unless its predicted time would overrun the budget. */
    const timed = async (key: string, run: (plan: TimingPlan) => Promise<Measurement>): Promise<Outcome> => {
      const est = estimate(key, n);
      const plan = planFor(est);
      if (Number.isFinite(est) && performance.now() + est * products(plan, est) > deadline) {
        log(`n=${n} ${key}: skipped, ~${((est * products(plan, est)) / 1000).toFixed(0)} s would overrun the budget`);
        return { skipped: `budget: ~${(est * products(plan, est) / 1000).toFixed(0)} s predicted` };
      }
      try {
        const m = await run(plan);
        if (m.ok) rates.set(key, m.gflops);
        log(`n=${n} ${key}: ${m.gflops.toFixed(3)} GFLOP/s (ms ${m.ms.map((x) => x.toFixed(0)).join('/')}, x${m.iters}, err ${m.maxErr.toExponential(1)}${m.ok ? '' : ' WRONG'})`);
        return m;
      } catch (err) {
        log(`n=${n} ${key}: failed: ${message(err)}`);
        return { error: message(err) };
      }
    };

    const ours = async (c: MatmulConfig): Promise<OursOutcome> => {
      const name = matmulConfigName(c);
      const pipeline = pipelineFor(c, vec4);
      const outcome = await timed(`ours ${name}`, async (plan) => {
        device.pushErrorScope('validation');
        const m = await measureKernel(problem, await pipeline, matmulDispatch(n, n, c), plan, inputs);
        const err = await device.popErrorScope();
        if (err) throw new Error(`WebGPU validation: ${err.message}`);
        return m;
      });
      return { name, vec4, ...outcome };
    };

    try {
      const oursOrder = keepTwo ? ranked.slice(0, 2) : ranked;
      result.ours.push(await ours(oursOrder[0]!));
      result.tfjs = tfjs ? await timed('tfjs', (plan) => tfjs.measure(n, inputs, plan)) : result.tfjs;
      result.ortGpu = ortSide ? await timed('ort gpu-buffer', (plan) => ortSide.measure(n, inputs, plan, 'gpu')) : result.ortGpu;
      for (const c of oursOrder.slice(1)) result.ours.push(await ours(c));
      for (const c of ranked.slice(oursOrder.length)) result.ours.push({ name: matmulConfigName(c), vec4, skipped: 'only the best 2 of the previous size run here' });
      result.ortCpu = ortSide ? await timed('ort cpu io', (plan) => ortSide.measure(n, inputs, plan, 'cpu')) : result.ortCpu;
    } finally {
      problem.destroy();
    }
    let best: SizeResult['best'] = null;
    for (const o of result.ours) if (isMeasured(o) && o.ok && (!best || o.gflops > best.gflops)) best = { name: o.name, gflops: o.gflops };
    result.best = best;
    log(`n=${n}: ours best ${best ? `${best.name} ${best.gflops.toFixed(3)}` : '-'} GFLOP/s; ${flops / 1e9} GFLOP per product`);
    sizes.push(result);
  }

  await ortSide?.release();
  tfjs?.release();
  return {
    runtime: opts.runtime,
    adapters: { ours: opts.adapter, tfjs: tfjs?.adapter ?? null, ort: ortSide?.adapter ?? null },
    failures,
    autotune,
    defaultConfig: matmulConfigName(MATMUL_DEFAULT),
    compileMs,
    compiled: pipelines.size,
    sizes,
    budgetMs: opts.budgetMs,
    elapsedMs: performance.now() - started,
  };
}

async function runAutotune(device: GPUDevice, limits: MatmulLimits, log: (line: string) => void): Promise<CompareReport['autotune']> {
  try {
    const r = await autotuneMatmul(device, limits);
    const config = matmulConfigName(r.config);
    log(`autotune picks ${config}: ${r.gflops.toFixed(3)} GFLOP/s at n=${r.n} (${r.trials.length} timed, ${r.skipped} left untimed, ${r.ms.toFixed(0)} ms)`);
    return { config, gflops: r.gflops, n: r.n, trials: r.trials, skipped: r.skipped, ms: r.ms };
  } catch (err) {
    log(`autotune failed: ${message(err)}`);
    return { error: message(err) };
  }
}

/** tfjs `matMul` on the 'webgpu' backend, inputs uploaded before timing. */
class TfjsSide {
  private constructor(readonly tf: typeof Tf, readonly backend: TfWebGpuBackend, readonly adapter: string | null) {}

  static async open(tf: typeof Tf): Promise<TfjsSide> {
    if (!(await tf.setBackend('webgpu'))) throw new Error(`Cannot use tfjs as tf.setBackend('webgpu') failed: backends are ${tf.engine().backendNames().join(', ')}`);
    await tf.ready();
    const backend = tf.backend() as unknown as TfWebGpuBackend;
    return new TfjsSide(tf, backend, describeDevice(backend.device));
  }

  async measure(n: number, inputs: MatmulInputs, plan: TimingPlan): Promise<Measurement> {
    const { tf } = this;
    const ta = tf.tensor2d(inputs.a, [n, n]);
    const tb = tf.tensor2d(inputs.b, [n, n]);
    let last: Tf.Tensor | undefined;
    try {
      this.backend.uploadToGPU(ta.dataId);
      this.backend.uploadToGPU(tb.dataId);
      await this.backend.device.queue.onSubmittedWorkDone();
      // Completion is observed by reading the last product back (n^2 floats, small beside n^3 work).
      const { ms, iters } = await timeRepeats(async (count) => {
        const t0 = performance.now();
        for (let i = 0; i < count; i++) {
          const c = tf.matMul(ta, tb);
          last?.dispose();
          last = c;
        }
        await last!.data();
        return performance.now() - t0;
      }, plan);
      const c = (await last!.data()) as Float32Array;
      return measurement(ms, iters, matmulFlops(n, n, n), sampledError(inputs.a, inputs.b, c, { m: n, k: n, n }, inputs.positions));
    } finally {
      last?.dispose();
      ta.dispose();
      tb.dispose();
    }
  }

  release(): void {
    this.tf.disposeVariables();
  }
}

/**
 * onnxruntime-web's WebGPU EP on one MatMul node with symbolic dimensions (one session for every size):
 * 'gpu' feeds GPU buffers and keeps the output on the GPU (`preferredOutputLocation: 'gpu-buffer'`), completion
 * observed with `onSubmittedWorkDone` on ORT's device; 'cpu' feeds and returns CPU tensors.
 */
class OrtSide {
  private constructor(
    readonly ort: typeof Ort,
    readonly gpu: Ort.InferenceSession,
    readonly cpu: Ort.InferenceSession,
    readonly device: GPUDevice,
    readonly adapter: string | null,
  ) {}

  static async open(ort: typeof Ort): Promise<OrtSide> {
    const model = onnxMatmulModel('M', 'K', 'N');
    const options: Ort.InferenceSession.SessionOptions = { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' };
    const gpu = await ort.InferenceSession.create(model, { ...options, preferredOutputLocation: 'gpu-buffer' });
    const cpu = await ort.InferenceSession.create(model, options);
    const device = (await ort.env.webgpu.device) as GPUDevice;
    return new OrtSide(ort, gpu, cpu, device, describeDevice(device));
  }

  async measure(n: number, inputs: MatmulInputs, plan: TimingPlan, where: 'gpu' | 'cpu'): Promise<Measurement> {
    const { ort, device } = this;
    const { a: A, b: B, y: Y } = ONNX_MATMUL_NAMES;
    const dims = [n, n];
    const buffers: GPUBuffer[] = [];
    const tensor = (data: F32): Ort.Tensor => {
      if (where === 'cpu') return new ort.Tensor('float32', data, dims);
      const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buf, 0, data);
      buffers.push(buf);
      return ort.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims });
    };
    const feeds = { [A]: tensor(inputs.a), [B]: tensor(inputs.b) };
    const session = where === 'gpu' ? this.gpu : this.cpu;
    let last: Ort.Tensor | undefined;
    try {
      await device.queue.onSubmittedWorkDone();
      const { ms, iters } = await timeRepeats(async (count) => {
        const t0 = performance.now();
        for (let i = 0; i < count; i++) {
          const out = await session.run(feeds);
          last?.dispose();
          last = out[Y];
        }
        if (where === 'gpu') await device.queue.onSubmittedWorkDone();
        return performance.now() - t0;
      }, plan);
      const c = (await last!.getData()) as Float32Array;
      return measurement(ms, iters, matmulFlops(n, n, n), sampledError(inputs.a, inputs.b, c, { m: n, k: n, n }, inputs.positions));
    } finally {
      last?.dispose();
      for (const buf of buffers) buf.destroy();
    }
  }

  async release(): Promise<void> {
    await this.gpu.release();
    await this.cpu.release();
  }
}
