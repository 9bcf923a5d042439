/**
 * Picks the matmul tile configuration (shaders/matmul.ts) that runs fastest on one adapter, by timing
 * every candidate that fits the device's limits on the same square product, within a time budget.
 *
 * The size grows from 512 (the default shard tile of runMatmul; a 128x128 block then has 16 workgroups, and
 * at 256 the ranking on SwiftShader differed from the one at 1024-2048) with the first
 * candidate until one submission takes TARGET_MS (past the size cap, more dispatches go in one
 * submission), so a software rasteriser (SwiftShader, llvmpipe: ~1-10 GFLOP/s) tunes at n=512 and a
 * data-centre GPU at n=2048 with many dispatches. Candidates compile and are timed one at a time in list
 * order (likeliest winners first): on SwiftShader one compile takes 1-5 s, so a budget-bound tuning times
 * the first few and `MatmulTuner` lets the rest be timed later, step by step. Works on a bare GPUDevice,
 * so Deno, pages and workers share it.
 */
import {
  checkMatmulConfig,
  MATMUL_BINDINGS,
  MATMUL_CANDIDATES,
  MATMUL_DEFAULT,
  MATMUL_ENTRY_POINT,
  type MatmulConfig,
  matmulConfigFits,
  matmulConfigName,
  matmulDispatch,
  matmulFlops,
  type MatmulLimits,
  matmulParams,
  matmulWgsl,
} from '../../shaders/matmul.ts';
import { timeDispatches } from './dispatch-timer.ts';

/** One candidate's measured rate. */
export interface TuneTrial {
  name: string;
  gflops: number;
}

/** The winning configuration and how it was found. */
export interface TuneResult {
  config: MatmulConfig;
  /** Rate of `config` at `n` (GFLOP/s). */
  gflops: number;
  /** Square size the candidates were timed at. */
  n: number;
  /** Dispatches per timed submission. */
  reps: number;
  /** Every timed candidate, in timing order. */
  trials: TuneTrial[];
  /** Candidates that fit the limits but were not timed for lack of budget. */
  skipped: number;
  /** Wall time of the whole tuning, compilation included. */
  ms: number;
}

/** Tuning options. */
export interface TuneOptions {
  /** Time the candidates at this size instead of growing one (rounded up to a multiple of 4). */
  n?: number;
  /** Wall-time budget (default 4000 ms); at least the default configuration is always timed. */
  budgetMs?: number;
  /** Candidates to consider (default MATMUL_CANDIDATES). */
  candidates?: readonly MatmulConfig[];
}

const TARGET_MS = 25;
const MIN_N = 512;
const MAX_N = 2048;
const MAX_REPS = 64;
const SAMPLES = 2;

/**
 * A tuning in progress: the problem size is fixed and the default configuration timed by `start()`; each
 * `step()` compiles and times one more candidate. Steps let a caller spread tuning over idle time (the
 * compute pool does, through its GPU lane) instead of holding the device for every candidate at once.
 */
export class MatmulTuner {
  readonly #device: GPUDevice;
  readonly #candidates: MatmulConfig[];
  readonly #problem: Problem;
  readonly #reps: number;
  readonly #trials: TuneTrial[] = [];
  readonly #started = performance.now();
  #next = 0;
  #best: { config: MatmulConfig; gflops: number } | undefined;
  #workMs = 0;

  private constructor(device: GPUDevice, candidates: MatmulConfig[], problem: Problem, reps: number) {
    this.#device = device;
    this.#candidates = candidates;
    this.#problem = problem;
    this.#reps = reps;
  }

  /** Sizes the problem on the first candidate that fits `limits` and times it. */
  static async start(device: GPUDevice, limits: MatmulLimits, opts: Pick<TuneOptions, 'n' | 'candidates'> = {}): Promise<MatmulTuner> {
    const candidates = (opts.candidates ?? MATMUL_CANDIDATES).filter((c) => matmulConfigFits(c, limits));
    if (candidates.length === 0) {
      throw new RangeError(`Cannot tune matmul as no candidate fits the device limits: ${JSON.stringify(limits)}`);
    }
    const first = await compile(device, candidates[0]!);
    let n = opts.n === undefined ? MIN_N : Math.ceil(opts.n / 4) * 4;
    let reps = 1;
    let problem = makeProblem(device, n);
    try {
      await timeRun(device, first, problem, candidates[0]!, 1); // warm-up
      if (opts.n === undefined) {
        // Grow the problem until one submission is long enough to time.
        for (;;) {
          const ms = await timeRun(device, first, problem, candidates[0]!, reps);
          if (ms >= TARGET_MS) break;
          if (n < MAX_N) {
            n = Math.min(MAX_N, n * 2);
            destroy(problem);
            problem = makeProblem(device, n);
          } else if (reps < MAX_REPS) {
            reps = Math.min(MAX_REPS, reps * Math.max(2, Math.ceil(TARGET_MS / Math.max(ms, 0.1))));
          } else {
            break;
          }
        }
      }
    } catch (err) {
      destroy(problem);
      throw err;
    }
    const tuner = new MatmulTuner(device, candidates, problem, reps);
    await tuner.#time(candidates[0]!, first);
    return tuner;
  }

  /** Whether every candidate has been timed (the problem's buffers are released then). */
  get done(): boolean {
    return this.#next >= this.#candidates.length;
  }

  /** The best so far. */
  get result(): TuneResult {
    if (!this.#best) throw new Error('Cannot report a matmul tuning as no candidate compiled');
    return {
      config: this.#best.config,
      gflops: this.#best.gflops,
      n: this.#problem.n,
      reps: this.#reps,
      trials: [...this.#trials],
      skipped: this.#candidates.length - this.#next,
      ms: performance.now() - this.#started,
    };
  }

  /** Device time spent compiling and timing so far (ms), excluding gaps between steps. */
  get workMs(): number {
    return this.#workMs;
  }

  /** Times the next candidate; false once none remain. */
  async step(): Promise<boolean> {
    if (this.done) return false;
    const config = this.#candidates[this.#next]!;
    const t0 = performance.now();
    try {
      await this.#time(config, await compile(this.#device, config));
    } catch (err) {
      // A driver that rejects one configuration (e.g. too many registers) just loses that candidate.
      console.warn(`meshwork: matmul config ${matmulConfigName(config)} left out of tuning: ${(err as Error).message}`);
      this.#next++;
    }
    this.#workMs += performance.now() - t0;
    if (this.done) this.dispose();
    return !this.done;
  }

  /** Releases the problem's buffers (a disposed tuner cannot step). */
  dispose(): void {
    destroy(this.#problem);
    this.#next = this.#candidates.length;
  }

  async #time(config: MatmulConfig, pipeline: GPUComputePipeline): Promise<void> {
    if (this.#next > 0) await timeRun(this.#device, pipeline, this.#problem, config, 1); // warm-up
    const samples: number[] = [];
    for (let s = 0; s < SAMPLES; s++) samples.push(await timeRun(this.#device, pipeline, this.#problem, config, this.#reps));
    const ms = Math.min(...samples);
    const n = this.#problem.n;
    const gflops = (matmulFlops(n, n, n) * this.#reps) / (ms * 1e6);
    this.#trials.push({ name: matmulConfigName(config), gflops });
    this.#next++;
    if (!this.#best || gflops > this.#best.gflops) this.#best = { config, gflops };
  }
}

/** Times the candidates that fit `limits` on `device`, in list order within the budget, and returns the fastest. */
export async function autotuneMatmul(device: GPUDevice, limits: MatmulLimits, opts: TuneOptions = {}): Promise<TuneResult> {
  const started = performance.now();
  const budgetMs = opts.budgetMs ?? 4000;
  const tuner = await MatmulTuner.start(device, limits, opts);
  try {
    while (!tuner.done && performance.now() - started <= budgetMs) await tuner.step();
    return tuner.result;
  } finally {
    tuner.dispose();
  }
}

/** A configuration read from a cache, re-checked against this device; undefined when it does not hold. */
export function storedConfig(config: unknown, limits: MatmulLimits): MatmulConfig | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as MatmulConfig;
  const copy: MatmulConfig = { bm: c.bm, bn: c.bn, bk: c.bk, tm: c.tm, tn: c.tn, ...(c.prefetch === undefined ? {} : { prefetch: c.prefetch }) };
  try {
    checkMatmulConfig(copy, limits);
    return copy;
  } catch {
    return undefined;
  }
}

/** `storedConfig`, or the first candidate that fits when the stored one does not hold. */
export function usableConfig(config: unknown, limits: MatmulLimits): MatmulConfig {
  return storedConfig(config, limits) ?? MATMUL_CANDIDATES.find((c) => matmulConfigFits(c, limits)) ?? MATMUL_DEFAULT;
}

async function compile(device: GPUDevice, config: MatmulConfig): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ code: matmulWgsl(config, true) });
  const layout = device.createBindGroupLayout({
    entries: MATMUL_BINDINGS.map((b) => ({
      binding: b.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.role === 'input' ? 'read-only-storage' : b.role === 'uniform' ? 'uniform' : 'storage' },
    })),
  });
  return device.createComputePipelineAsync({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: MATMUL_ENTRY_POINT },
  });
}

interface Problem {
  n: number;
  buffers: GPUBuffer[];
}

function makeProblem(device: GPUDevice, n: number): Problem {
  const data = new Float32Array(n * n);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 17) / 17 - 0.5;
  const storage = (usage: number) => device.createBuffer({ size: data.byteLength, usage });
  const a = storage(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const b = storage(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const c = storage(GPUBufferUsage.STORAGE);
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(a, 0, data);
  device.queue.writeBuffer(b, 0, data);
  device.queue.writeBuffer(params, 0, matmulParams(n, n, n));
  return { n, buffers: [a, b, params, c] };
}

function timeRun(device: GPUDevice, pipeline: GPUComputePipeline, p: Problem, config: MatmulConfig, reps: number): Promise<number> {
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: p.buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return timeDispatches(device, pipeline, bindGroup, matmulDispatch(p.n, p.n, config), reps);
}

function destroy(p: Problem): void {
  for (const b of p.buffers) b.destroy();
}
