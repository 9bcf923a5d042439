/**
 * Op codes, params layout, dispatch rule and whole-array plan of shaders/reduce.wgsl (row-wise sum or max of
 * a [rows, cols] f32 matrix). Constants and pure functions only: safe to import anywhere.
 */
import {
  checkCount, checkMatrixIndex, ROW_WORKGROUP, rowDispatch, rowSegment, rowUnits, rowUsesVec4, rowVec4Source,
  type RowLimits, type RowWidth,
} from './rows.ts';

/** Op codes of the reduction kernel, in the order the WGSL uses. */
export const REDUCE_OPS = { sum: 0, max: 1 } as const;
/** Name of one reduction op. */
export type ReduceOp = keyof typeof REDUCE_OPS;

/** Entry point of the reduction kernel. */
export const REDUCE_ENTRY_POINT = 'main';

/** Group-0 bindings of the reduction kernel: x, params (32 bytes), y. */
export const REDUCE_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'uniform' },
  { binding: 2, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/** Where a reduction reads and writes inside its bindings, for row ranges bound at an aligned offset. */
export interface ReduceParamOptions {
  /** Elements of x bound: row r covers [r*cols, min((r+1)*cols, n)); default rows * cols. */
  n?: number;
  /** Floats of x before row 0 in the binding (chunks.ts `base`); default 0. */
  inBase?: number;
  /** Floats of y before row 0's result in the binding; default 0. */
  outBase?: number;
  /** Workgroup width the pipeline was built with (`rowConstants`); default ROW_WORKGROUP. */
  workgroup?: number;
  /** 4 for the vec4 variant (`reduceVec4Source`: cols, n and inBase multiples of 4), else 1 (default). */
  width?: RowWidth;
}

/** The 32-byte params uniform {rows, cols, n, op, seg, in_base, out_base, _pad}. */
export function reduceParams(rows: number, cols: number, op: ReduceOp, opts: ReduceParamOptions = {}): ArrayBuffer {
  const action = 'encode reduce params';
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  const code = REDUCE_OPS[op];
  if (code === undefined) throw new RangeError(`Cannot ${action} as 'op' is unknown: current value is ${String(op)}`);
  const n = opts.n ?? rows * cols;
  checkCount(action, 'n', n, 1);
  // Every row must hold at least one element, and no row more than cols.
  if (n <= (rows - 1) * cols || n > rows * cols) {
    throw new RangeError(`Cannot ${action} as 'n' must lie in ((rows-1)*cols, rows*cols] = (${(rows - 1) * cols}, ${rows * cols}]: current value is ${n}`);
  }
  const inBase = opts.inBase ?? 0;
  const outBase = opts.outBase ?? 0;
  checkCount(action, 'inBase', inBase, 0);
  checkCount(action, 'outBase', outBase, 0);
  checkMatrixIndex(action, 1, n, inBase);
  checkMatrixIndex(action, rows, 1, outBase);
  const units = rowUnits(action, cols, opts.width ?? 1, { n, inBase });
  return new Uint32Array([rows, cols, n, code, rowSegment(units, opts.workgroup), inBase, outBase, 0]).buffer;
}

/**
 * Workgroups for a row-wise reduction of [rows, cols]: see `rowDispatch` (2D grid past the per-dimension
 * limit); `width` 4 for the vec4 variant, whose rows are cols / 4 elements long.
 */
export function reduceDispatch(rows: number, cols: number, limits: RowLimits, workgroup = ROW_WORKGROUP, width: RowWidth = 1): [number, number, number] {
  checkCount('dispatch reduce', 'cols', cols, 1);
  return rowDispatch('reduce', rows, rowUnits('dispatch reduce', cols, width), limits, workgroup);
}

/**
 * The vec4 variant of shaders/reduce.wgsl (its text passed in: `?raw` or a file read): x as array<vec4<f32>>
 * (y stays one f32 per row), 4 floats per invocation per load. Use it where `reduceUsesVec4` says so, with
 * `reduceParams(..., { width: 4 })` and `reduceDispatch(..., 4)`; params stay in floats.
 */
export function reduceVec4Source(scalarSource: string): string {
  return rowVec4Source('reduce', scalarSource);
}

/**
 * Whether a reduction of rows of `cols` floats, `n` floats bound in all (default: whole rows only, so any n
 * that `cols` divides), `inBase` floats into the x binding (chunks.ts), can run on the vec4 variant.
 */
export function reduceUsesVec4(cols: number, n = cols, inBase = 0): boolean {
  return rowUsesVec4(cols, n, inBase);
}

/** Smallest slice of the array one workgroup of the first whole-array pass reduces (16 floats a thread at 256). */
export const REDUCE_ALL_MIN_CHUNK = 4096;
/** Most partial results of the first pass: enough workgroups to fill a large GPU, few enough for one in pass 2. */
export const REDUCE_ALL_MAX_PARTIALS = 2048;

/** One dispatch of a whole-array reduction. */
export interface ReducePass {
  /** What the pass reads: the array, or the partials of the pass before. */
  input: 'x' | 'partials';
  /** What it writes: `partials` floats, or the single result. */
  output: 'partials' | 'result';
  rows: number;
  cols: number;
  /** Elements the pass reads. */
  n: number;
  params: ArrayBuffer;
  dispatch: [number, number, number];
}

/** The plan of a whole-array reduction: one pass for small arrays, else partials then final. */
export interface ReduceAllPlan {
  /** Floats of the partials buffer the caller allocates (0 when one pass suffices). */
  partials: number;
  passes: ReducePass[];
}

/**
 * Plans op(x[0..n)) as row reductions: pass 1 treats x as ceil(n/chunk) rows of `chunk` floats (the last one
 * short) and writes one partial per row; pass 2 reduces the partials as one row. Sum error grows with the
 * longest serial run, about chunk/WG + log2(WG) + partials/WG + log2(WG) additions, not with n.
 */
export function planReduceAll(n: number, op: ReduceOp, limits: RowLimits, workgroup = ROW_WORKGROUP): ReduceAllPlan {
  checkCount('plan a whole-array reduction', 'n', n, 1);
  const chunk = Math.max(REDUCE_ALL_MIN_CHUNK, Math.ceil(n / REDUCE_ALL_MAX_PARTIALS));
  const pass = (input: ReducePass['input'], output: ReducePass['output'], rows: number, cols: number, len: number): ReducePass => ({
    input, output, rows, cols, n: len,
    params: reduceParams(rows, cols, op, { n: len, workgroup }),
    dispatch: reduceDispatch(rows, cols, limits, workgroup),
  });
  if (n <= chunk) return { partials: 0, passes: [pass('x', 'result', 1, n, n)] };
  const partials = Math.ceil(n / chunk);
  return { partials, passes: [pass('x', 'partials', partials, chunk, n), pass('partials', 'result', 1, partials, partials)] };
}
