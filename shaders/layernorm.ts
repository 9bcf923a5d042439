/**
 * Params layout and dispatch rule of shaders/layernorm.wgsl (layer normalisation over the last axis of a
 * [rows, cols] f32 matrix, with gamma and beta of length cols). Constants and pure functions only.
 */
import {
  checkCount, checkMatrixIndex, ROW_WORKGROUP, rowDispatch, rowSegment, rowUnits, rowUsesVec4, rowVec4Source,
  type RowLimits, type RowWidth,
} from './rows.ts';

/** Entry point of the layer-norm kernel. */
export const LAYERNORM_ENTRY_POINT = 'main';

/** The epsilon ONNX LayerNormalization defaults to. */
export const LAYERNORM_DEFAULT_EPS = 1e-5;

/** Group-0 bindings of the layer-norm kernel: x, gamma [cols], beta [cols], params (32 bytes), y. */
export const LAYERNORM_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'input' },
  { binding: 2, role: 'input' },
  { binding: 3, role: 'uniform' },
  { binding: 4, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/** The epsilon, where the kernel reads and writes inside its bindings, and its pipeline's workgroup width. */
export interface LayerNormParamOptions {
  /** Added to the variance before the square root; default LAYERNORM_DEFAULT_EPS. */
  eps?: number;
  /** Floats of x (and of y) before row 0 in the bindings (chunks.ts `base`); default 0. gamma and beta are bound whole. */
  base?: number;
  /** Workgroup width the pipeline was built with (`rowConstants`); default ROW_WORKGROUP. */
  workgroup?: number;
  /** 4 for the vec4 variant (`layerNormVec4Source`: cols and base multiples of 4), else 1 (default). */
  width?: RowWidth;
}

/** The 32-byte params uniform {rows, cols, seg, base, eps, _pad x3}. */
export function layerNormParams(rows: number, cols: number, opts: LayerNormParamOptions = {}): ArrayBuffer {
  const action = 'encode layer-norm params';
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  const base = opts.base ?? 0;
  const eps = opts.eps ?? LAYERNORM_DEFAULT_EPS;
  checkCount(action, 'base', base, 0);
  checkMatrixIndex(action, rows, cols, base);
  if (!Number.isFinite(eps) || eps < 0) {
    throw new RangeError(`Cannot ${action} as 'eps' must be a finite number >= 0: current value is ${eps}`);
  }
  const units = rowUnits(action, cols, opts.width ?? 1, { base });
  const buf = new ArrayBuffer(32);
  const view = new DataView(buf);
  view.setUint32(0, rows, true);
  view.setUint32(4, cols, true);
  view.setUint32(8, rowSegment(units, opts.workgroup), true);
  view.setUint32(12, base, true);
  view.setFloat32(16, eps, true);
  return buf;
}

/**
 * Workgroups for a layer norm over [rows, cols]: see `rowDispatch` (2D grid past the per-dimension limit);
 * `width` 4 for the vec4 variant, whose rows are cols / 4 elements long.
 */
export function layerNormDispatch(rows: number, cols: number, limits: RowLimits, workgroup = ROW_WORKGROUP, width: RowWidth = 1): [number, number, number] {
  checkCount('dispatch layer-norm', 'cols', cols, 1);
  return rowDispatch('layer-norm', rows, rowUnits('dispatch layer-norm', cols, width), limits, workgroup);
}

/**
 * The vec4 variant of shaders/layernorm.wgsl (its text passed in: `?raw` or a file read): x, gamma, beta and y
 * as array<vec4<f32>>, 4 floats per invocation per step. Use it where `layerNormUsesVec4` says so, with
 * `layerNormParams(..., { width: 4 })` and `layerNormDispatch(..., 4)`; params stay in floats.
 */
export function layerNormVec4Source(scalarSource: string): string {
  return rowVec4Source('layer-norm', scalarSource);
}

/**
 * Whether a layer norm over rows of `cols` floats, `base` floats into the x and y bindings (chunks.ts), can run
 * on the vec4 variant (gamma and beta are bound whole, from offset 0).
 */
export function layerNormUsesVec4(cols: number, base = 0): boolean {
  return rowUsesVec4(cols, base);
}
