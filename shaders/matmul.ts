/**
 * f32 matmul C[M,N] = A[M,K] x B[K,N] (row-major) as WGSL generated from a tile configuration, so one
 * code path covers very different adapters and the autotuner (workers/gpu/autotune.ts) can pick the
 * configuration per adapter. Pure functions: safe to import anywhere (no WebGPU needed to generate).
 *
 * The generated kernel:
 * - tiles C into BM x BN blocks, one per workgroup of (BN/TN) x (BM/TM) threads;
 * - walks K in slices of BK staged through workgroup memory (A transposed, so one vec4 read gives a
 *   thread four rows);
 * - keeps each thread's TM x TN outputs in TM*TN/4 *named* vec4 accumulators (a dynamically indexed
 *   local array spills to memory on real GPUs: 0.6 vs 21.5 TFLOP/s on an H100, ../shared/gpu/README.md);
 * - interleaves thread ownership (row group g of a thread starts at g*4*TY + 4*ty), so neighbouring
 *   threads read neighbouring vec4s of workgroup memory;
 * - in the `vec4` variant (K % 4 == 0 and N % 4 == 0) loads A and B and stores C as vec4;
 * - handles ragged edges without slowing the interior: a workgroup-uniform flag selects unchecked loads
 *   for whole K slices of interior blocks and unchecked stores for interior blocks; edge blocks and the
 *   last partial K slice take the checked path. The inner product loop exists once (SwiftShader's
 *   compile time grows with code size: 2-5 s for an 8x8 block).
 *
 * Bindings (group 0): A (read), B (read), params {M, N, K, _pad} (uniform), C (read-write).
 */

/** A tile configuration of the generated matmul kernel. */
export interface MatmulConfig {
  /** Rows of C per workgroup (multiple of 4 * (BM/TM)... see `checkMatmulConfig`). */
  bm: number;
  /** Columns of C per workgroup. */
  bn: number;
  /** K slice staged in workgroup memory per step. */
  bk: number;
  /** Rows of C per thread (multiple of 4). */
  tm: number;
  /** Columns of C per thread (multiple of 4). */
  tn: number;
  /**
   * Fetch the next K slice from global memory into registers while multiplying the current one (hides
   * global-memory latency on GPUs; costs registers).
   */
  prefetch?: boolean;
}

/** Entry point of every generated matmul kernel. */
export const MATMUL_ENTRY_POINT = 'main';

/** Group-0 bindings of the matmul kernel: A, B, params {M,N,K,_pad}, C. */
export const MATMUL_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'input' },
  { binding: 2, role: 'uniform' },
  { binding: 3, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/**
 * Candidate configurations the autotuner measures, the likeliest winners first (a tuning that runs out of
 * budget has timed those). The first is the default where nothing was tuned: it fits WebGPU's default
 * limits (256 invocations, 16 KiB workgroup memory) and is the blocking that reached 21.5 TFLOP/s on an
 * H100 and the best rate on llvmpipe (6.4 GFLOP/s at n=1024 vs 3.8 for 64x64x16/4x4).
 */
export const MATMUL_CANDIDATES: readonly MatmulConfig[] = [
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, prefetch: true },
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, prefetch: true },
  { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8 },
  { bm: 128, bn: 64, bk: 8, tm: 8, tn: 4 },
  { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  { bm: 32, bn: 32, bk: 16, tm: 4, tn: 4 },
];
// Left out after measurement: 128x128x32/8x8 (32 KiB) took llvmpipe ~55 s to compile for no gain at n=128;
// 64x64x16/8x4 and 64x64x8/4x4 never won on llvmpipe or SwiftShader.

/** The configuration used when none was tuned. */
export const MATMUL_DEFAULT: MatmulConfig = MATMUL_CANDIDATES[0]!;

/** Threads per workgroup of `c`. */
export function matmulThreads(c: MatmulConfig): number {
  return (c.bm / c.tm) * (c.bn / c.tn);
}

/** Workgroup memory of `c` in bytes (A and B slices). */
export function matmulWorkgroupBytes(c: MatmulConfig): number {
  return 4 * c.bk * (c.bm + c.bn);
}

/** A short stable name, e.g. `128x128x8/8x8`, for logs, caches and bench tables. */
export function matmulConfigName(c: MatmulConfig): string {
  return `${c.bm}x${c.bn}x${c.bk}/${c.tm}x${c.tn}${c.prefetch ? '+p' : ''}`;
}

/** The device limits a configuration must fit. */
export interface MatmulLimits {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupStorageSize: number;
}

/** Throws a RangeError naming the first broken rule of `c` (shape rules, then `limits` if given). */
export function checkMatmulConfig(c: MatmulConfig, limits?: MatmulLimits): void {
  const name = matmulConfigName(c);
  for (const key of ['bm', 'bn', 'bk', 'tm', 'tn'] as const) {
    const v = c[key];
    if (!Number.isInteger(v) || v < 1 || v > 256) {
      throw new RangeError(`Cannot use matmul config ${name} as '${key}' must be an integer 1..256: current value is ${v}`);
    }
  }
  if (c.prefetch !== undefined && typeof c.prefetch !== 'boolean') throw new RangeError(`Cannot use matmul config ${name} as 'prefetch' must be a boolean: current value is ${String(c.prefetch)}`);
  if (c.tm % 4 !== 0 || c.tn % 4 !== 0) throw new RangeError(`Cannot use matmul config ${name} as tm and tn must be multiples of 4`);
  if (c.bk % 4 !== 0) throw new RangeError(`Cannot use matmul config ${name} as bk must be a multiple of 4`);
  if (c.bm % c.tm !== 0 || c.bn % c.tn !== 0) throw new RangeError(`Cannot use matmul config ${name} as bm/tm and bn/tn must be whole`);
  const threads = matmulThreads(c);
  if (!limits) return;
  const wx = c.bn / c.tn, wy = c.bm / c.tm;
  if (threads > limits.maxComputeInvocationsPerWorkgroup) {
    throw new RangeError(`Cannot use matmul config ${name} as it needs ${threads} invocations per workgroup: the device allows ${limits.maxComputeInvocationsPerWorkgroup}`);
  }
  if (wx > limits.maxComputeWorkgroupSizeX || wy > limits.maxComputeWorkgroupSizeY) {
    throw new RangeError(`Cannot use matmul config ${name} as its workgroup is ${wx}x${wy}: the device allows ${limits.maxComputeWorkgroupSizeX}x${limits.maxComputeWorkgroupSizeY}`);
  }
  if (matmulWorkgroupBytes(c) > limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(`Cannot use matmul config ${name} as it needs ${matmulWorkgroupBytes(c)} bytes of workgroup memory: the device allows ${limits.maxComputeWorkgroupStorageSize}`);
  }
}

/** Whether `c` fits `limits` (shape rules included). */
export function matmulConfigFits(c: MatmulConfig, limits: MatmulLimits): boolean {
  try {
    checkMatmulConfig(c, limits);
    return true;
  } catch {
    return false;
  }
}

/** Whether the vec4 variant applies: rows of A and B start on 16-byte boundaries. */
export function matmulUsesVec4(k: number, n: number): boolean {
  return k % 4 === 0 && n % 4 === 0;
}

/** Workgroups to dispatch for C[M,N] with `c`: (ceil(N/BN), ceil(M/BM), 1). */
export function matmulDispatch(m: number, n: number, c: MatmulConfig = MATMUL_DEFAULT): [number, number, number] {
  checkDim('m', m);
  checkDim('n', n);
  return [Math.ceil(n / c.bn), Math.ceil(m / c.bm), 1];
}

/** The 16-byte params uniform {M, N, K, _pad} as a transferable buffer. */
export function matmulParams(m: number, n: number, k: number): ArrayBuffer {
  checkDim('m', m);
  checkDim('n', n);
  checkDim('k', k);
  return new Uint32Array([m, n, k, 0]).buffer;
}

/** Floating-point operations of one C[M,N] = A[M,K] x B[K,N] (a multiply and an add per term). */
export function matmulFlops(m: number, n: number, k: number): number {
  return 2 * m * n * k;
}

/** WGSL of the matmul kernel for `c`; `vec4` selects the vectorised variant (see `matmulUsesVec4`). */
export function matmulWgsl(c: MatmulConfig = MATMUL_DEFAULT, vec4 = false): string {
  checkMatmulConfig(c);
  const { bm, bn, bk, tm, tn } = c;
  const tx = bn / tn, ty = bm / tm;
  const threads = tx * ty;
  const rg = tm / 4, cg = tn / 4; // row groups and vec4 column groups per thread
  const acc = (r: number, h: number) => `acc_${r}_${h}`;
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);

  emit(`// Generated by shaders/matmul.ts: config ${matmulConfigName(c)}, ${vec4 ? 'vec4' : 'scalar'} loads.`);
  emit('struct Params { M: u32, N: u32, K: u32, _pad: u32 }');
  const elem = vec4 ? 'vec4<f32>' : 'f32';
  emit(`@group(0) @binding(0) var<storage, read> A: array<${elem}>;`);
  emit(`@group(0) @binding(1) var<storage, read> B: array<${elem}>;`);
  emit('@group(0) @binding(2) var<uniform> params: Params;');
  emit(`@group(0) @binding(3) var<storage, read_write> C: array<${elem}>;`);
  emit(`const BM: u32 = ${bm}u;`);
  emit(`const BN: u32 = ${bn}u;`);
  emit(`const BK: u32 = ${bk}u;`);
  emit(`// As[k * BM/4 + r/4][r%4] = A[row0 + r, k0 + k]; Bs[k * BN/4 + c/4][c%4] = B[k0 + k, col0 + c].`);
  emit(`var<workgroup> As: array<vec4<f32>, ${(bk * bm) / 4}>;`);
  emit(`var<workgroup> Bs: array<vec4<f32>, ${(bk * bn) / 4}>;`);
  emit('');

  // Loaders. The threads share each slice's elements round-robin.
  // vec4 variant: fetch (global memory -> this thread's private registers) and stash (registers ->
  // workgroup memory) apart, so the prefetching variant can fetch slice kt+1 while it multiplies slice
  // kt; unrolled, with a guard only on a last, partial round.
  // Scalar variant (ragged shapes): a plain loop from global to workgroup memory, no prefetch. Unrolled
  // scalar rounds (16 per thread for 64x64x16/8x8) made SwiftShader's compiler run for minutes.
  const rounds = (count: number) => Array.from({ length: Math.ceil(count / threads) }, (_, j) => j);
  const guard = (count: number, j: number) => ((j + 1) * threads > count ? `if (t + ${j * threads}u < ${count}u) ` : '');
  const prefetch = vec4 && c.prefetch === true;
  if (vec4) {
    const aCount = (bm * bk) / 4, bCount = (bk * bn) / 4;
    for (const j of rounds(aCount)) emit(`var<private> pa${j}: vec4<f32>;`);
    for (const j of rounds(bCount)) emit(`var<private> pb${j}: vec4<f32>;`);
    emit('');
    for (const checked of [false, true]) {
      emit(`fn fetch_${checked ? 'checked' : 'fast'}(t: u32, row0: u32, col0: u32, k0: u32) {`);
      emit('  let M = params.M; let N = params.N; let K = params.K;');
      for (const j of rounds(aCount)) {
        // A slice: BM rows x BK/4 vec4s along K.
        emit(`  ${guard(aCount, j)}{ let i = t + ${j * threads}u; let gr = row0 + i / ${bk / 4}u; let gk = k0 + (i % ${bk / 4}u) * 4u;`);
        const at = 'A[(gr * K + gk) / 4u]';
        emit(checked ? `    pa${j} = vec4<f32>(0.0); if (gr < M && gk < K) { pa${j} = ${at}; } }` : `    pa${j} = ${at}; }`);
      }
      for (const j of rounds(bCount)) {
        emit(`  ${guard(bCount, j)}{ let i = t + ${j * threads}u; let gk = k0 + i / ${bn / 4}u; let gc = col0 + (i % ${bn / 4}u) * 4u;`);
        const at = 'B[(gk * N + gc) / 4u]';
        emit(checked ? `    pb${j} = vec4<f32>(0.0); if (gk < K && gc < N) { pb${j} = ${at}; } }` : `    pb${j} = ${at}; }`);
      }
      emit('}');
      emit('');
    }
    emit('fn stash(t: u32) {');
    for (const j of rounds(aCount)) {
      // Transposed into As, one component per k.
      emit(`  ${guard(aCount, j)}{ let i = t + ${j * threads}u; let r = i / ${bk / 4}u; let base = (i % ${bk / 4}u) * 4u * ${bm / 4}u + r / 4u; let lane = r % 4u;`);
      for (let q = 0; q < 4; q++) emit(`    As[base + ${q * (bm / 4)}u][lane] = pa${j}[${q}];`);
      emit('  }');
    }
    for (const j of rounds(bCount)) emit(`  ${guard(bCount, j)}{ Bs[t + ${j * threads}u] = pb${j}; }`);
    emit('}');
    emit('');
  } else {
    for (const checked of [false, true]) {
      emit(`fn load_${checked ? 'checked' : 'fast'}(t: u32, row0: u32, col0: u32, k0: u32) {`);
      emit('  let M = params.M; let N = params.N; let K = params.K;');
      emit(`  for (var i = t; i < ${bm * bk}u; i += ${threads}u) {`);
      emit('    let r = i / BK; let k = i % BK; let gr = row0 + r; let gk = k0 + k;');
      emit(checked ? '    var v = 0.0; if (gr < M && gk < K) { v = A[gr * K + gk]; }' : '    let v = A[gr * K + gk];');
      emit(`    As[k * ${bm / 4}u + r / 4u][r % 4u] = v;`);
      emit('  }');
      emit(`  for (var i = t; i < ${bk * bn}u; i += ${threads}u) {`);
      emit('    let k = i / BN; let cc = i % BN; let gk = k0 + k; let gc = col0 + cc;');
      emit(checked ? '    var v = 0.0; if (gk < K && gc < N) { v = B[gk * N + gc]; }' : '    let v = B[gk * N + gc];');
      emit(`    Bs[k * ${bn / 4}u + cc / 4u][cc % 4u] = v;`);
      emit('  }');
      emit('}');
      emit('');
    }
  }

  emit(`@compute @workgroup_size(${tx}, ${ty}, 1)`);
  emit('fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {');
  emit('  let M = params.M; let N = params.N; let K = params.K;');
  emit('  let row0 = wid.y * BM; let col0 = wid.x * BN;');
  emit(`  let tx = lid.x; let ty = lid.y; let t = ty * ${tx}u + tx;`);
  emit('  let interior = row0 + BM <= M && col0 + BN <= N;');
  for (let r = 0; r < tm; r++) for (let h = 0; h < cg; h++) emit(`  var ${acc(r, h)} = vec4<f32>(0.0);`);
  emit('  let kFull = K / BK;');
  emit('  let kTiles = (K + BK - 1u) / BK;');
  // Workgroup-uniform: whole slices of interior blocks load unchecked; the ragged last slice and edge
  // blocks load with bounds checks (out-of-range elements read 0 and add nothing).
  const fetch = (kt: string) => `if (interior && ${kt} < kFull) { fetch_fast(t, row0, col0, ${kt} * BK); } else { fetch_checked(t, row0, col0, ${kt} * BK); }`;
  if (prefetch) {
    emit(`  ${fetch('0u')}`);
    emit('  for (var kt = 0u; kt < kTiles; kt++) {');
    emit('    stash(t);');
    emit('    workgroupBarrier();');
    emit('    let next = kt + 1u;');
    emit(`    if (next < kTiles) { ${fetch('next')} }`);
  } else if (vec4) {
    emit('  for (var kt = 0u; kt < kTiles; kt++) {');
    emit(`    ${fetch('kt')}`);
    emit('    stash(t);');
    emit('    workgroupBarrier();');
  } else {
    emit('  for (var kt = 0u; kt < kTiles; kt++) {');
    emit('    if (interior && kt < kFull) { load_fast(t, row0, col0, kt * BK); } else { load_checked(t, row0, col0, kt * BK); }');
    emit('    workgroupBarrier();');
  }
  emitInner('    ', 'BK');
  emit('    workgroupBarrier();');
  emit('  }');

  // Stores: row r of the thread is rowBase(g) + comp; vec4 column group h starts at 4*(h*TX + tx).
  for (let g = 0; g < rg; g++) {
    for (let comp = 0; comp < 4; comp++) {
      const r = g * 4 + comp;
      emit(`  { let r = row0 + ${g * 4 * ty}u + ty * 4u + ${comp}u;`);
      for (let h = 0; h < cg; h++) {
        const cExpr = `col0 + ${h * 4 * tx}u + tx * 4u`;
        if (vec4) {
          emit(`    { let c = ${cExpr}; if (interior || (r < M && c < N)) { C[(r * N + c) / 4u] = ${acc(r, h)}; } }`);
        } else {
          emit(`    { let c = ${cExpr}; let v = ${acc(r, h)};`);
          emit('      if (interior) { let o = r * N + c; C[o] = v.x; C[o + 1u] = v.y; C[o + 2u] = v.z; C[o + 3u] = v.w; }');
          emit('      else if (r < M) { let o = r * N + c; if (c < N) { C[o] = v.x; } if (c + 1u < N) { C[o + 1u] = v.y; } if (c + 2u < N) { C[o + 2u] = v.z; } if (c + 3u < N) { C[o + 3u] = v.w; } } }');
        }
      }
      emit('  }');
    }
  }
  emit('}');
  return lines.join('\n') + '\n';

  function emitInner(indent: string, steps: string): void {
    emit(`${indent}for (var k = 0u; k < ${steps}; k++) {`);
    for (let g = 0; g < rg; g++) emit(`${indent}  let a${g} = As[k * ${bm / 4}u + ${g * ty}u + ty];`);
    for (let h = 0; h < cg; h++) emit(`${indent}  let b${h} = Bs[k * ${bn / 4}u + ${h * tx}u + tx];`);
    const comps = ['x', 'y', 'z', 'w'];
    for (let g = 0; g < rg; g++) {
      for (let comp = 0; comp < 4; comp++) {
        for (let h = 0; h < cg; h++) emit(`${indent}  ${acc(g * 4 + comp, h)} = fma(vec4<f32>(a${g}.${comps[comp]}), b${h}, ${acc(g * 4 + comp, h)});`);
      }
    }
    emit(`${indent}}`);
  }
}

function checkDim(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
    throw new RangeError(`Cannot size a matmul as '${name}' must be a positive 32-bit integer: current value is ${value}`);
  }
}

/** One block of a split matmul: rows [row, row+rows) of A and C, columns [col, col+cols) of B and C. */
export interface MatmulBlock {
  row: number;
  rows: number;
  col: number;
  cols: number;
}

/** The device limits a single dispatch of the matmul must respect. */
export interface MatmulBufferLimits {
  /** Largest storage binding (and buffer) in bytes. */
  maxBindingBytes: number;
  maxComputeWorkgroupsPerDimension: number;
}

/**
 * Splits C[M,N] = A[M,K] x B[K,N] into blocks whose A rows, B columns and C block each fit one storage
 * binding and whose dispatch fits the workgroup-count limit; one block when everything fits. Rows are cut
 * on multiples of BM (full workgroups) and columns on multiples of max(BN, 4) where there is room.
 * Throws a RangeError when even one row of A or one column of B (K floats) cannot be bound.
 */
export function planMatmulBlocks(m: number, k: number, n: number, limits: MatmulBufferLimits, c: MatmulConfig = MATMUL_DEFAULT): MatmulBlock[] {
  checkDim('m', m);
  checkDim('k', k);
  checkDim('n', n);
  const floats = Math.floor(limits.maxBindingBytes / 4);
  if (k > floats) {
    throw new RangeError(`Cannot split a matmul as one row of A (k = ${k} floats) exceeds the ${limits.maxBindingBytes}-byte storage binding limit`);
  }
  // Columns of B per block: all of them when B fits, else as many K-long columns as one binding holds.
  let cols = Math.min(n, Math.floor(floats / k), limits.maxComputeWorkgroupsPerDimension * c.bn);
  if (cols < n && cols > c.bn) cols -= cols % c.bn;
  // Rows per block: A rows (k floats each) and C rows (cols floats each) must both fit.
  let rows = Math.min(m, Math.floor(floats / Math.max(k, cols)), limits.maxComputeWorkgroupsPerDimension * c.bm);
  if (rows < 1) {
    throw new RangeError(`Cannot split a matmul as one row of C (${cols} floats) exceeds the ${limits.maxBindingBytes}-byte storage binding limit`);
  }
  if (rows < m && rows > c.bm) rows -= rows % c.bm;
  const blocks: MatmulBlock[] = [];
  for (let col = 0; col < n; col += cols) {
    for (let row = 0; row < m; row += rows) blocks.push({ row, rows: Math.min(rows, m - row), col, cols: Math.min(cols, n - col) });
  }
  return blocks;
}
