/**
 * The row layout shared by the row kernels (reduce.wgsl, softmax.wgsl, layernorm.wgsl): how threads of a
 * 256-wide workgroup are given to rows, and how workgroups are laid on a 2D grid so that row counts past the
 * per-dimension limit (65535 on most devices) still work. Pure functions: safe to import anywhere.
 *
 * Each row gets a *segment* of `seg` threads (a power of two, 1..256): the smallest power of two that covers
 * the row, capped at the workgroup. Long rows (cols >= 256) get a whole workgroup and a loop over their
 * columns; short rows share one, 256/seg rows per workgroup, so a [70000, 3] softmax keeps its threads busy.
 * The kernels find their row from the flat workgroup index `wid.y * nwg.x + wid.x`, which is what
 * `rowDispatch` spreads over x (up to the limit) and y (the rest).
 */

/** Threads per workgroup of every row kernel (the WGSL `@workgroup_size` and workgroup arrays use it). */
export const ROW_WORKGROUP = 256;

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

/** Threads per row for rows of `cols` elements: the power of two >= cols, at most ROW_WORKGROUP. */
export function rowSegment(cols: number): number {
  checkCount('size a row segment', 'cols', cols, 1);
  let seg = 1;
  while (seg < cols && seg < ROW_WORKGROUP) seg *= 2;
  return seg;
}

/** Rows one workgroup handles for rows of `cols` elements. */
export function rowsPerWorkgroup(cols: number): number {
  return ROW_WORKGROUP / rowSegment(cols);
}

/**
 * Workgroups for `rows` rows of `cols` elements as [x, y, 1]: x up to the device's per-dimension limit,
 * y for the rest (the last y row may hold a few workgroups past the end: the kernels skip rows >= rows).
 * Throws a RangeError naming `kernel` where the workgroup or the grid does not fit `limits`.
 */
export function rowDispatch(kernel: string, rows: number, cols: number, limits: RowLimits): [number, number, number] {
  const action = `dispatch ${kernel}`;
  checkCount(action, 'rows', rows, 1);
  checkCount(action, 'cols', cols, 1);
  checkRowLimits(kernel, limits);
  const groups = Math.ceil(rows / rowsPerWorkgroup(cols));
  const perDim = limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(groups, perDim);
  const y = Math.ceil(groups / x);
  if (y > perDim) {
    throw new RangeError(`Cannot ${action} as ${rows} rows need ${groups} workgroups, more than ${perDim}^2: current value is ${rows}`);
  }
  return [x, y, 1];
}

/** Throws a RangeError where a ROW_WORKGROUP-wide workgroup does not fit `limits`. */
export function checkRowLimits(kernel: string, limits: RowLimits): void {
  const perDim = limits.maxComputeWorkgroupsPerDimension;
  if (!Number.isInteger(perDim) || perDim < 1) {
    throw new RangeError(`Cannot dispatch ${kernel} as 'maxComputeWorkgroupsPerDimension' must be a positive integer: current value is ${perDim}`);
  }
  const invocations = limits.maxComputeInvocationsPerWorkgroup;
  if (!(invocations >= ROW_WORKGROUP)) {
    throw new RangeError(`Cannot dispatch ${kernel} as it needs ${ROW_WORKGROUP} invocations per workgroup: 'maxComputeInvocationsPerWorkgroup' is ${invocations}`);
  }
  const width = limits.maxComputeWorkgroupSizeX;
  if (width !== undefined && !(width >= ROW_WORKGROUP)) {
    throw new RangeError(`Cannot dispatch ${kernel} as its workgroup is ${ROW_WORKGROUP} wide: 'maxComputeWorkgroupSizeX' is ${width}`);
  }
}

/** Throws a RangeError unless `value` is a 32-bit integer >= min. */
export function checkCount(action: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > 0xffff_ffff) {
    throw new RangeError(`Cannot ${action} as '${name}' must be an integer ${min}..2^32-1: current value is ${value}`);
  }
}
