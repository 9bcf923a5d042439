/**
 * Params layout and dispatch rule of shaders/softmax.wgsl (numerically stable softmax over each row of a
 * [rows, cols] f32 matrix). Constants and pure functions only: safe to import anywhere.
 */
import { checkCount, rowDispatch, rowSegment, type RowLimits } from './rows.ts';

/** Entry point of the softmax kernel. */
export const SOFTMAX_ENTRY_POINT = 'main';

/** Group-0 bindings of the softmax kernel: x, params (16 bytes), y (same shape as x). */
export const SOFTMAX_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'uniform' },
  { binding: 2, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/**
 * The 16-byte params uniform {rows, cols, seg, base}; `base` is the floats of x (and of y, which has the
 * same layout) before row 0 in the bindings, for row ranges bound at an aligned offset (chunks.ts).
 */
export function softmaxParams(rows: number, cols: number, base = 0): ArrayBuffer {
  const action = 'encode softmax params';
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  checkCount(action, 'base', base, 0);
  return new Uint32Array([rows, cols, rowSegment(cols), base]).buffer;
}

/** Workgroups for a softmax over [rows, cols]: see `rowDispatch` (2D grid past the per-dimension limit). */
export function softmaxDispatch(rows: number, cols: number, limits: RowLimits): [number, number, number] {
  return rowDispatch('softmax', rows, cols, limits);
}
