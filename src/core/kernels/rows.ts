/**
 * The built-in row kernels (protocol `RowsKernelSchema`): one op over the rows of x [rows, cols] f32, a block
 * of rows per shard, on the GPU worker. The shard layout each op takes, its output and its work units are
 * defined here once: the coordinator checks submitted shards against them, the SDK plans with them and the
 * worker checks its task with them, so a shard that does not fit its op is refused before anyone computes.
 */
import { MeshError } from '../../protocol/errors.ts';
import type { RowOp, RowsKernel } from '../../protocol/kernel.ts';
import type { TensorSpec } from '../../protocol/tensor.ts';
import { buffersMisfit, gpuLimits, hasGpu } from './_gpu.ts';
import type { KernelRules } from './types.ts';

/** Floating-point operations per element of x each op costs (a softmax reads, exponentiates, sums and divides). */
export const ROW_OP_FLOPS: Readonly<Record<RowOp, number>> = { sum: 1, max: 1, add: 1, mul: 1, relu: 1, affine: 2, softmax: 4, layernorm: 7 };

/** The names of the inputs each op takes after x, in order. */
export const ROW_OP_INPUTS: Readonly<Record<RowOp, readonly string[]>> = {
  sum: [], max: [], softmax: [], relu: [], affine: [],
  add: ['b'], mul: ['b'],
  layernorm: ['gamma', 'beta'],
};

/** Whether an op reduces each row to one value (y [rows]) rather than mapping it (y [rows, cols]). */
export function rowOpReduces(op: RowOp): boolean {
  return op === 'sum' || op === 'max';
}

/** Work units of `rows` rows of `cols` under `op`: its MFLOP, `ceil(rows * cols * flops / 1e6)`, at least 1. */
export function workUnitsForRows(op: RowOp, rows: number, cols: number): number {
  const flops = ROW_OP_FLOPS[op];
  if (flops === undefined) throw new RangeError(`Cannot count row-kernel work units as 'op' is unknown: current value is ${String(op)}`);
  for (const [name, value] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Cannot count row-kernel work units as '${name}' must be a positive integer: current value is ${value}`);
  }
  const units = Math.ceil((rows * cols * flops) / 1e6);
  if (!Number.isSafeInteger(units)) throw new RangeError(`Cannot count row-kernel work units as ${rows} x ${cols} is too large: current value is ${units}`);
  return Math.max(1, units);
}

/** The output of `op` over x [rows, cols]: `y`, f32. */
export function rowsOutput(op: RowOp, rows: number, cols: number): TensorSpec {
  return { name: 'y', dtype: 'float32', dims: rowOpReduces(op) ? [rows] : [rows, cols] };
}

/**
 * The shape [rows, cols] of a shard's x after checking that `inputs` are exactly what `op` takes (x, then b of
 * x's shape, or gamma and beta of [cols]), all f32; throws MeshError 'invalid-message' naming what is wrong.
 */
export function rowsLayout(op: RowOp, inputs: readonly Pick<TensorSpec, 'name' | 'dtype' | 'dims'>[], what = 'a row-kernel shard'): { rows: number; cols: number } {
  const invalid = (why: string) => invalidShard(what, why);
  const extra = Object.hasOwn(ROW_OP_INPUTS, op) ? ROW_OP_INPUTS[op] : undefined;
  if (extra === undefined) throw invalid(`its op is unknown: current value is ${JSON.stringify(op)}`);
  const want = ['x', ...extra];
  const got = inputs.map((t) => t.name);
  if (got.join() !== want.join()) throw invalid(`'${op}' takes inputs [${want}]: current inputs are [${got}]`);
  const bad = inputs.find((t) => t.dtype !== 'float32');
  if (bad) throw invalid(`input '${bad.name}' must be float32: current dtype is ${bad.dtype}`);
  const x = inputs[0]!;
  if (x.dims.length !== 2 || !x.dims.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw invalid(`input 'x' must be a matrix [rows, cols] of positive dims: current dims are [${x.dims}]`);
  }
  const [rows, cols] = x.dims as [number, number];
  for (const t of inputs.slice(1)) {
    const shape = t.name === 'b' ? [rows, cols] : [cols];
    if (t.dims.join() !== shape.join()) throw invalid(`input '${t.name}' must have dims [${shape}]: current dims are [${t.dims}]`);
  }
  return { rows, cols };
}

/** The rules of the `rows` kind. */
export const rowsRules: KernelRules<'rows'> = {
  lane: 'gpu',
  what: 'a row kernel',
  // Each shard's buffers (its block of rows) must fit the adapter's bindings.
  perShard: true,
  able: hasGpu,
  ineligibility(caps, _kernel, spec) {
    const limits = gpuLimits(caps);
    if (typeof limits === 'string') return limits;
    return buffersMisfit(limits, spec.inputs.length + spec.outputs.length, spec);
  },
  checkShard(kernel, spec) {
    const what = `row-kernel shard ${spec.index}`;
    const invalid = (why: string) => invalidShard(what, why);
    const { rows, cols } = rowsLayout(kernel.op, spec.inputs, what);
    const y = rowsOutput(kernel.op, rows, cols);
    const out = spec.outputs;
    if (out.length !== 1 || out[0]!.name !== y.name || out[0]!.dtype !== y.dtype || out[0]!.dims.join() !== y.dims.join()) {
      throw invalid(`'${kernel.op}' must output y float32[${y.dims}]: current outputs are [${out.map((o) => `${o.name}:${o.dtype}[${o.dims}]`)}]`);
    }
    if (spec.dispatch !== undefined) throw invalid(`it must leave 'dispatch' to the contributor: current value is [${spec.dispatch}]`);
    const units = workUnitsForRows(kernel.op, rows, cols);
    // Contributors are paid by work units: a client may not declare fewer than its shard costs.
    if (spec.workUnits !== units) throw invalid(`'${kernel.op}' over [${rows}, ${cols}] is ${units} work units: current value is ${spec.workUnits}`);
  },
};

/** Kernel parameters other than the op, as a task carries them. */
export function rowsParams(kernel: RowsKernel): { eps?: number; alpha?: number; beta?: number } {
  if (kernel.op === 'layernorm') return kernel.eps === undefined ? {} : { eps: kernel.eps };
  if (kernel.op === 'affine') return { alpha: kernel.alpha, beta: kernel.beta };
  return {};
}

function invalidShard(what: string, why: string): MeshError {
  return new MeshError('invalid-message', `Cannot run ${what} as ${why}`);
}
