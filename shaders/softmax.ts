/**
 * Params layout and dispatch rule of shaders/softmax.wgsl (numerically stable softmax over each row of a
 * [rows, cols] f32 matrix). Constants and pure functions only: safe to import anywhere.
 */
import {
  checkCount, checkMatrixIndex, ROW_WORKGROUP, rowDispatch, rowSegment, rowUnits, rowUsesVec4, rowVec4Source,
  type RowLimits, type RowWidth,
} from './rows.ts';

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
  /** 4 for the vec4 variant (`softmaxVec4Source`: cols and base multiples of 4), else 1 (default). */
  width?: RowWidth;
}

/** The 16-byte params uniform {rows, cols, seg, base}. */
export function softmaxParams(rows: number, cols: number, opts: SoftmaxParamOptions = {}): ArrayBuffer {
  const action = 'encode softmax params';
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  const base = opts.base ?? 0;
  checkCount(action, 'base', base, 0);
  checkMatrixIndex(action, rows, cols, base);
  const units = rowUnits(action, cols, opts.width ?? 1, { base });
  return new Uint32Array([rows, cols, rowSegment(units, opts.workgroup), base]).buffer;
}

/**
 * Workgroups for a softmax over [rows, cols]: see `rowDispatch` (2D grid past the per-dimension limit); `width`
 * 4 for the vec4 variant, whose rows are cols / 4 elements long.
 */
export function softmaxDispatch(rows: number, cols: number, limits: RowLimits, workgroup = ROW_WORKGROUP, width: RowWidth = 1): [number, number, number] {
  checkCount('dispatch softmax', 'cols', cols, 1);
  return rowDispatch('softmax', rows, rowUnits('dispatch softmax', cols, width), limits, workgroup);
}

/**
 * The vec4 variant of shaders/softmax.wgsl (its text passed in: `?raw` or a file read): x and y as
 * array<vec4<f32>>, 4 floats per invocation per step. Use it where `softmaxUsesVec4` says so, with
 * `softmaxParams(..., { width: 4 })` and `softmaxDispatch(..., 4)`; params stay in floats.
 */
export function softmaxVec4Source(scalarSource: string): string {
  return rowVec4Source('softmax', scalarSource);
}

/** Whether a softmax over rows of `cols` floats, `base` floats into its bindings (chunks.ts), can run on the vec4 variant. */
export function softmaxUsesVec4(cols: number, base = 0): boolean {
  return rowUsesVec4(cols, base);
}
