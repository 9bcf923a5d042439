/**
 * Params layout and dispatch rule of shaders/softmax.wgsl (numerically stable softmax over each row of a
 * [rows, cols] f32 matrix). Constants and pure functions only: safe to import anywhere.
 */
import { checkCount, checkMatrixIndex, ROW_WORKGROUP, rowDispatch, rowSegment, type RowLimits } from './rows.ts';

/** Entry point of the softmax kernel. */
export const SOFTMAX_ENTRY_POINT = 'main';

/** Group-0 bindings of the softmax kernel: x, params (16 bytes), y (same shape as x). */
export const SOFTMAX_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'uniform' },
  { binding: 2, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/** Where a softmax reads and writes inside its bindings, and the workgroup width of its pipeline. */
export interface SoftmaxParamOptions {
  /** Floats of x (and of y, which has the same layout) before row 0 in the bindings (chunks.ts `base`); default 0. */
  base?: number;
  /** Workgroup width the pipeline was built with (`rowConstants`); default ROW_WORKGROUP. */
  workgroup?: number;
}

/** The 16-byte params uniform {rows, cols, seg, base}. */
export function softmaxParams(rows: number, cols: number, opts: SoftmaxParamOptions = {}): ArrayBuffer {
  const action = 'encode softmax params';
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  const base = opts.base ?? 0;
  checkCount(action, 'base', base, 0);
  checkMatrixIndex(action, rows, cols, base);
  return new Uint32Array([rows, cols, rowSegment(cols, opts.workgroup), base]).buffer;
}

/** Workgroups for a softmax over [rows, cols]: see `rowDispatch` (2D grid past the per-dimension limit). */
export function softmaxDispatch(rows: number, cols: number, limits: RowLimits, workgroup = ROW_WORKGROUP): [number, number, number] {
  return rowDispatch('softmax', rows, cols, limits, workgroup);
}
