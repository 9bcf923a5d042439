/**
 * The row layout shared by the row kernels (reduce.wgsl, softmax.wgsl, layernorm.wgsl): how the threads of a
 * workgroup are given to rows, and how workgroups are laid on a 2D grid so that row counts past the
 * per-dimension limit (65535 on most devices) still work. Pure functions: safe to import anywhere.
 *
 * The workgroup width is the kernels' pipeline-overridable constant `WG` (`rowConstants`), a power of two:
 * 64 by default, since CPU adapters (llvmpipe, SwiftShader) pay for every barrier per invocation and run a
 * 256-wide row reduction about 10x slower than a 64-wide one; a large GPU with few long rows may want 256.
 * Each row gets a *segment* of `seg` threads: the smallest power of two covering the row, capped at the
 * workgroup. Long rows get a whole workgroup and a loop over their columns; short rows share one, WG/seg rows
 * per workgroup, so a [70000, 3] softmax keeps its threads busy. The kernels find their row from the flat
 * workgroup index `wid.y * nwg.x + wid.x`, which is what `rowDispatch` spreads over x (up to the limit) and y.
 */

/** Default workgroup width of the row kernels (their WGSL `override WG` default). */
export const ROW_WORKGROUP = 64;

/** Name of the row kernels' workgroup-width pipeline constant. */
export const ROW_WORKGROUP_CONSTANT = 'WG';

/** The device limits a row kernel's dispatch must fit (a `GPUSupportedLimits` satisfies it). */
export interface RowLimits {
  /** Largest workgroup count in one dimension of a dispatch (65535 at least on every WebGPU device). */
  maxComputeWorkgroupsPerDimension: number;
  /** Largest workgroup, in invocations. */
  maxComputeInvocationsPerWorkgroup: number;
  /** Largest workgroup width; optional, for callers that only know the two above. */
  maxComputeWorkgroupSizeX?: number;
}

/** The limits WebGPU guarantees on every device, for callers without a device at hand. */
export const DEFAULT_ROW_LIMITS: RowLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
};

/** The `RowLimits` fields of a device's limits, as a plain object (GPUSupportedLimits' getters do not spread). */
export function rowLimits(limits: RowLimits): RowLimits {
  const { maxComputeWorkgroupsPerDimension, maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX } = limits;
  return maxComputeWorkgroupSizeX === undefined
    ? { maxComputeWorkgroupsPerDimension, maxComputeInvocationsPerWorkgroup }
    : { maxComputeWorkgroupsPerDimension, maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX };
}

/** Pipeline constants that set a row kernel's workgroup width (for `compute.constants`). */
export function rowConstants(workgroup = ROW_WORKGROUP): Record<string, number> {
  checkWorkgroup('build row-kernel constants', workgroup);
  return { [ROW_WORKGROUP_CONSTANT]: workgroup };
}

/** Threads per row for rows of `cols` elements: the power of two >= cols, at most `workgroup`. */
export function rowSegment(cols: number, workgroup = ROW_WORKGROUP): number {
  checkCount('size a row segment', 'cols', cols, 1);
  checkWorkgroup('size a row segment', workgroup);
  let seg = 1;
  while (seg < cols && seg < workgroup) seg *= 2;
  return seg;
}

/** Rows one workgroup handles for rows of `cols` elements. */
export function rowsPerWorkgroup(cols: number, workgroup = ROW_WORKGROUP): number {
  return workgroup / rowSegment(cols, workgroup);
}

/**
 * Workgroups for `rows` rows of `cols` elements as [x, y, 1]: x up to the device's per-dimension limit,
 * y for the rest (the last y row may hold a few workgroups past the end: the kernels skip rows >= rows).
 * Throws a RangeError naming `kernel` where the workgroup or the grid does not fit `limits`.
 */
export function rowDispatch(
  kernel: string,
  rows: number,
  cols: number,
  limits: RowLimits,
  workgroup = ROW_WORKGROUP,
): [number, number, number] {
  const action = `dispatch ${kernel}`;
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  checkRowLimits(kernel, limits, workgroup);
  const groups = Math.ceil(rows / rowsPerWorkgroup(cols, workgroup));
  const perDim = limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(groups, perDim);
  const y = Math.ceil(groups / x);
  if (y > perDim) {
    throw new RangeError(`Cannot ${action} as ${rows} rows need ${groups} workgroups, more than ${perDim}^2: current value is ${rows}`);
  }
  return [x, y, 1];
}

/** Floats each invocation of a row kernel loads at a time: 1 (the WGSL source as written) or 4 (its vec4 variant). */
export type RowWidth = 1 | 4;

/** The marker lines a row kernel's source declares its element type and width with (as elementwise.wgsl does). */
const VEC4_MARKERS = [['alias T = f32;', 'alias T = vec4<f32>;'], ['const WIDTH: u32 = 1u;', 'const WIDTH: u32 = 4u;']] as const;

/**
 * The vec4 variant of a row kernel's WGSL source (softmax.wgsl, layernorm.wgsl, reduce.wgsl): its row buffers
 * become array<vec4<f32>> and each invocation takes 4 consecutive floats per step. Throws a TypeError naming
 * `kernel` where the source lacks a marker line.
 */
export function rowVec4Source(kernel: string, scalarSource: string): string {
  let out = scalarSource;
  for (const [scalar, vec4] of VEC4_MARKERS) {
    if (!out.includes(scalar)) throw new TypeError(`Cannot derive the vec4 ${kernel} kernel as the source lacks '${scalar}'`);
    out = out.replace(scalar, vec4);
  }
  return out;
}

/**
 * Whether rows of `cols` floats, bound `offsets` floats past a 16-byte-aligned binding start (chunks.ts `base`
 * values), can run on a vec4 variant: every row and offset must start on a vec4, so all are multiples of 4.
 */
export function rowUsesVec4(cols: number, ...offsets: number[]): boolean {
  return Number.isInteger(cols) && cols > 0 && cols % 4 === 0 && offsets.every((o) => Number.isInteger(o) && o % 4 === 0);
}

/**
 * Vec4 elements per row: `cols / width`, after checking that `width` is 1 or 4 and, for 4, that `cols` and the
 * `offsets` (name: value) are multiples of 4. Throws a RangeError naming the offending value otherwise.
 */
export function rowUnits(action: string, cols: number, width: RowWidth, offsets: Record<string, number> = {}): number {
  if (width !== 1 && width !== 4) throw new RangeError(`Cannot ${action} as 'width' must be 1 or 4: current value is ${String(width)}`);
  if (width === 1) return cols;
  for (const [name, value] of Object.entries({ cols, ...offsets })) {
    if (value % 4 !== 0) throw new RangeError(`Cannot ${action} as '${name}' must be a multiple of 4 for the vec4 variant: current value is ${value}`);
  }
  return cols / 4;
}

/** Throws a RangeError where a `workgroup`-wide workgroup does not fit `limits`. */
export function checkRowLimits(kernel: string, limits: RowLimits, workgroup = ROW_WORKGROUP): void {
  const action = `dispatch ${kernel}`;
  checkWorkgroup(action, workgroup);
  const perDim = limits.maxComputeWorkgroupsPerDimension;
  if (!Number.isInteger(perDim) || perDim < 1) {
    throw new RangeError(`Cannot ${action} as 'maxComputeWorkgroupsPerDimension' must be a positive integer: current value is ${perDim}`);
  }
  const invocations = limits.maxComputeInvocationsPerWorkgroup;
  if (!(invocations >= workgroup)) {
    throw new RangeError(`Cannot ${action} as it needs ${workgroup} invocations per workgroup: 'maxComputeInvocationsPerWorkgroup' is ${invocations}`);
  }
  const width = limits.maxComputeWorkgroupSizeX;
  if (width !== undefined && !(width >= workgroup)) {
    throw new RangeError(`Cannot ${action} as its workgroup is ${workgroup} wide: 'maxComputeWorkgroupSizeX' is ${width}`);
  }
}

/** Throws a RangeError unless `value` is a 32-bit integer >= min. */
export function checkCount(action: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > 0xffff_ffff) {
    throw new RangeError(`Cannot ${action} as '${name}' must be an integer ${min}..2^32-1: current value is ${value}`);
  }
}

/**
 * Throws a RangeError unless every element index of a [rows, cols] matrix `base` floats into its binding fits
 * the kernels' u32 arithmetic; larger jobs go through chunks.ts (a binding holds far fewer floats anyway).
 */
export function checkMatrixIndex(action: string, rows: number, cols: number, base: number): void {
  if (base + rows * cols > 2 ** 32) {
    throw new RangeError(`Cannot ${action} as base + rows * cols must be at most 2^32 (split the rows with chunks.ts): current value is ${base + rows * cols}`);
  }
}

function checkWorkgroup(action: string, workgroup: number): void {
  if (!Number.isInteger(workgroup) || workgroup < 1 || workgroup > 1024 || (workgroup & (workgroup - 1)) !== 0) {
    throw new RangeError(`Cannot ${action} as 'workgroup' must be a power of two 1..1024: current value is ${workgroup}`);
  }
}
