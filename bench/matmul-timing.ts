/**
 * Runtime-neutral pieces of the matmul benchmarks (bench/pages/matmul.ts in Chromium, bench/matmul_deno.ts
 * and bench/gpu/matmul.ts in Deno): random inputs, a sampled f64 check, and a timer for WGSL matmul kernels
 * that share the project's binding layout (A, B, params {M,N,K,_pad}, C at bindings 0..3).
 * Imports only shaders/, so the GPU-machine script can use it without node_modules.
 */
import { MATMUL_BINDINGS, matmulParams } from '../shaders/matmul.ts';
import { timeDispatches } from '../workers/gpu/dispatch-timer.ts';

/**
 * How one measurement is taken: an optional untimed warm-up, then `reps` timed runs of `iters` products each.
 * With `targetMs`, the warm-up's duration sets `iters` instead (up to 8) so each repeat lasts about that long;
 * with `slowMs`, a warm-up at least that long leaves a single repeat (for products whose cost was unknown).
 */
export interface TimingPlan {
  warmup: boolean;
  reps: number;
  iters: number;
  targetMs?: number;
  slowMs?: number;
}

/** One timed competitor at one size: milliseconds per product of each repeat and its accuracy. */
export interface Measurement {
  /** GFLOP/s at the median of `ms`. */
  gflops: number;
  /** Milliseconds per product, one entry per repeat. */
  ms: number[];
  /** Products per timed repeat. */
  iters: number;
  /** Largest sampled |C - ref| / sum_k |A[i,k] B[k,j]| (the scale of f32 rounding error). */
  maxErr: number;
  /** Whether every sampled entry is within tolerance: a fast wrong kernel never counts. */
  ok: boolean;
}

/** Sampled errors above this (relative to sum |a*b|) mean a wrong result; f32 rounding stays far below. */
export const MAX_REL_ERR = 1e-4;

/** f32 data on a plain (not shared) ArrayBuffer, as WebGPU uploads take. */
export type F32 = Float32Array<ArrayBuffer>;

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A fresh 32-bit seed, so each run draws new inputs (reported, so a failure reproduces). */
export function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** `count` uniform floats in [-1, 1) from a xorshift32 stream seeded with `seed`. */
export function randomMatrix(count: number, seed: number): F32 {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Positions (flat indices into C[m,n]) to check: the four corners plus `count` pseudo-random ones. */
export function samplePositions(m: number, n: number, count: number, seed: number): number[] {
  const picks = new Set([0, n - 1, (m - 1) * n, m * n - 1]);
  const r = randomMatrix(count, seed ^ 0x5bd1e995);
  for (const u of r) picks.add(Math.min(m * n - 1, Math.floor(((u + 1) / 2) * m * n)));
  return [...picks];
}

/** Largest error of `c` at `positions` against an f64 reference of A[m,k] x B[k,n], relative to sum |a*b|. */
export function sampledError(
  a: Float32Array,
  b: Float32Array,
  c: ArrayLike<number>,
  dims: { m: number; k: number; n: number },
  positions: readonly number[],
): number {
  const { k, n } = dims;
  if (c.length !== dims.m * n) return Infinity;
  let worst = 0;
  for (const p of positions) {
    const i = Math.floor(p / n), j = p % n;
    let ref = 0, scale = 0;
    for (let q = 0; q < k; q++) {
      const t = a[i * k + q]! * b[q * n + j]!;
      ref += t;
      scale += Math.abs(t);
    }
    const got = c[p]!;
    const err = Number.isFinite(got) ? Math.abs(got - ref) / Math.max(scale, 1e-30) : Infinity;
    worst = Math.max(worst, err);
  }
  return worst;
}

/**
 * Runs `plan` over `run(iters)` (which returns elapsed ms for `iters` products); returns ms per product and the
 * products per repeat actually used.
 */
export async function timeRepeats(run: (iters: number) => Promise<number>, plan: TimingPlan): Promise<{ ms: number[]; iters: number }> {
  let iters = plan.iters;
  let reps = plan.reps;
  if (plan.warmup) {
    const first = await run(1);
    if (plan.targetMs !== undefined) iters = Math.min(8, Math.max(1, Math.round(plan.targetMs / Math.max(first, 0.1))));
    if (plan.slowMs !== undefined && first >= plan.slowMs) reps = 1;
  }
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) ms.push((await run(iters)) / iters);
  return { ms, iters };
}

/** A Measurement from per-product ms, the product's FLOPs and the sampled error. */
export function measurement(ms: number[], iters: number, flops: number, maxErr: number): Measurement {
  return { gflops: flops / (median(ms) * 1e6), ms, iters, maxErr, ok: maxErr <= MAX_REL_ERR };
}

/** The bind group layout every kernel of the benchmarks uses (the project's matmul layout). */
export function matmulLayout(device: GPUDevice): GPUPipelineLayout {
  const layout = device.createBindGroupLayout({
    entries: MATMUL_BINDINGS.map((b) => ({
      binding: b.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.role === 'input' ? ('read-only-storage' as const) : b.role === 'uniform' ? ('uniform' as const) : ('storage' as const) },
    })),
  });
  return device.createPipelineLayout({ bindGroupLayouts: [layout] });
}

/** Compiles `wgsl` (entry `main`) against the matmul layout; rejects with the compiler's messages. */
export async function compileMatmulKernel(device: GPUDevice, wgsl: string, label: string): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ code: wgsl, label });
  const info = await module.getCompilationInfo?.();
  const errors = info?.messages.filter((m) => m.type === 'error') ?? [];
  if (errors.length > 0) {
    throw new Error(`Cannot compile matmul kernel ${label}: ${errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`);
  }
  return device.createComputePipelineAsync({ label, layout: matmulLayout(device), compute: { module, entryPoint: 'main' } });
}

/** GPU buffers of one square-or-not product A[m,k] x B[k,n] = C[m,n], inputs uploaded. */
export class MatmulProblem {
  readonly a: GPUBuffer;
  readonly b: GPUBuffer;
  readonly params: GPUBuffer;
  readonly c: GPUBuffer;

  constructor(readonly device: GPUDevice, readonly dims: { m: number; k: number; n: number }, a: F32, b: F32) {
    const { m, k, n } = dims;
    const storage = (bytes: number, usage: number) => device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | usage });
    this.a = storage(m * k * 4, GPUBufferUsage.COPY_DST);
    this.b = storage(k * n * 4, GPUBufferUsage.COPY_DST);
    this.c = storage(m * n * 4, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    this.params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(this.a, 0, a);
    device.queue.writeBuffer(this.b, 0, b);
    device.queue.writeBuffer(this.params, 0, matmulParams(m, n, k));
  }

  /** A bind group of this problem for `pipeline`. */
  bind(pipeline: GPUComputePipeline): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [this.a, this.b, this.params, this.c].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /**
   * Milliseconds for `iters` dispatches of `pipeline` in one command buffer, from submission to
   * `onSubmittedWorkDone` (earlier work is drained first so it is not billed here).
   */
  time(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, dispatch: readonly [number, number, number], iters: number): Promise<number> {
    return timeDispatches(this.device, pipeline, bindGroup, dispatch, iters);
  }

  /** Clears C (so a kernel that writes nothing cannot pass on an earlier kernel's output). */
  clearOutput(): void {
    const encoder = this.device.createCommandEncoder();
    encoder.clearBuffer(this.c);
    this.device.queue.submit([encoder.finish()]);
  }

  /** C read back to the CPU. */
  async readOutput(): Promise<Float32Array> {
    const bytes = this.c.size;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(this.c, 0, staging, 0, bytes);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      return new Float32Array(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  /** Frees the buffers. */
  destroy(): void {
    for (const buf of [this.a, this.b, this.params, this.c]) buf.destroy();
  }
}

/** A product's inputs and the positions of C to check. */
export interface MatmulInputs {
  a: F32;
  b: F32;
  positions: readonly number[];
}

/** Times one compiled kernel on `problem` under `plan`, then checks C at `positions`. */
export async function measureKernel(
  problem: MatmulProblem,
  pipeline: GPUComputePipeline,
  dispatch: readonly [number, number, number],
  plan: TimingPlan,
  inputs: MatmulInputs,
): Promise<Measurement> {
  const { m, k, n } = problem.dims;
  problem.clearOutput();
  const bindGroup = problem.bind(pipeline);
  const { ms, iters } = await timeRepeats((i) => problem.time(pipeline, bindGroup, dispatch, i), plan);
  const c = await problem.readOutput();
  return measurement(ms, iters, 2 * m * n * k, sampledError(inputs.a, inputs.b, c, problem.dims, inputs.positions));
}

/** Adapter of a device as one string, where the runtime exposes `GPUDevice.adapterInfo`. */
export function describeDevice(device: GPUDevice): string | null {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return info ? describeAdapterInfo(info) : null;
}

/** vendor / architecture / description, skipping empty parts. */
export function describeAdapterInfo(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.description].filter((s) => s).join(' / ') || 'unknown';
}
