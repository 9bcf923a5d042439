/**
 * The built-in row kernels on the mesh. Client side: x [rows, cols] cut into blocks of whole rows, one per
 * shard, each with its rows of b (for 'add' and 'mul') or the whole gamma and beta (for 'layernorm'); the
 * shards' y concatenated in order is the result. Contributor side: one task on the GPU lane once the inputs
 * are in and checked; the worker picks the kernel's vector variant and dispatch (workers/kernels/rows.ts).
 */
import { sha256Hex } from '../../core/hash.ts';
import { ROW_OP_FLOPS, rowsLayout, rowsOutput, rowsParams, workUnitsForRows } from '../../core/kernels/rows.ts';
import { batchShardItems, DEFAULT_BATCH_SHARDS, type MeshFigures } from '../../core/shard-size.ts';
import { packTensors, unpackTensors } from '../../core/sharding.ts';
import type { KernelSpec, ShardSpec } from '../../protocol/kernel.ts';
import type { TensorSpec } from '../../protocol/tensor.ts';
import { checkExact, type JobPlan, type PlannedShard } from '../job-plan.ts';
import { packOwned } from '../owned-tensors.ts';
import type { RunRowsOptions } from '../types.ts';
import { NO_MODEL, type TaskMaker, timed } from './task.ts';

/** Shards x is split into when nothing was measured of the mesh. */
export const ROWS_SHARDS = DEFAULT_BATCH_SHARDS;
/** Most bytes of x in one default shard: far below the 128 MiB binding every WebGPU device accepts. */
export const ROWS_MAX_SHARD_BYTES = 4 * 1024 * 1024;

/**
 * Plans a row-kernel job: checks the caller's arrays, packs each block of rows (one copy, before the first await)
 * and hashes it. Rows per shard: the caller's `rowsPerShard`, else sized from `figures` (core/shard-size.ts; the
 * rows in ROWS_SHARDS shards when nothing is known), and never more than ROWS_MAX_SHARD_BYTES of x.
 */
export async function planRows(opts: RunRowsOptions, figures?: MeshFigures): Promise<JobPlan<Float32Array>> {
  const { rows, cols, x } = opts;
  for (const [name, value] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Cannot run a row kernel as '${name}' must be a positive integer: current value is ${value}`);
  }
  const kernel = kernelOf(opts);
  const floats = (name: string, a: unknown, length: number): Float32Array => {
    if (!(a instanceof Float32Array) || a.length !== length) {
      throw new RangeError(`Cannot run a row kernel as '${name}' must be a Float32Array of ${length} values: current length is ${(a as { length?: number } | undefined)?.length}`);
    }
    return a;
  };
  floats('x', x, rows * cols);
  // Per-row operands are cut with x; per-column ones (gamma, beta) go whole with every shard.
  const perRow = opts.op === 'add' || opts.op === 'mul' ? [{ name: 'b', data: floats('b', opts.b, rows * cols) }] : [];
  const whole = opts.op === 'layernorm' ? [{ name: 'gamma', data: floats('gamma', opts.gamma, cols) }, { name: 'beta', data: floats('beta', opts.beta, cols) }] : [];
  const sized = () => {
    const work = { items: rows, unitsPerItem: (cols * ROW_OP_FLOPS[kernel.op]) / 1e6, bytesPerItem: cols * 4 * (1 + perRow.length) };
    return Math.max(1, Math.min(batchShardItems(work, figures), Math.floor(ROWS_MAX_SHARD_BYTES / (cols * 4))));
  };
  const per = opts.rowsPerShard ?? sized();
  if (!Number.isSafeInteger(per) || per < 1) throw new RangeError(`Cannot run a row kernel as 'rowsPerShard' must be a positive integer: current value is ${per}`);
  const packed: { inputs: TensorSpec[]; bytes: ArrayBuffer; rows: number }[] = [];
  for (let start = 0; start < rows; start += per) {
    const n = Math.min(per, rows - start);
    const parts = [{ name: 'x', data: x.subarray(start * cols, (start + n) * cols) }, ...perRow.map((t) => ({ name: t.name, data: t.data.subarray(start * cols, (start + n) * cols) })), ...whole];
    const inputs = parts.map((p): TensorSpec => ({ name: p.name, dtype: 'float32', dims: p.name === 'gamma' || p.name === 'beta' ? [cols] : [n, cols] }));
    rowsLayout(kernel.op, inputs); // the layout the coordinator and the worker will check
    packed.push({ inputs, bytes: packTensors(parts), rows: n });
  }
  const shards = await Promise.all(packed.map(async ({ inputs, bytes, rows: n }, index): Promise<PlannedShard> => {
    const spec: ShardSpec = {
      index,
      inputs,
      outputs: [rowsOutput(kernel.op, n, cols)],
      inputHash: await sha256Hex(bytes),
      workUnits: workUnitsForRows(kernel.op, n, cols),
    };
    return { spec, inputs: bytes };
  }));
  return {
    kernel,
    shards,
    checkOutputs: checkExact,
    // One shard's y is its own buffer; several are concatenated in order.
    assemble: (outputs) => new Float32Array(packOwned(outputs.map((o) => o[0]!))),
  };
}

/** The wire kernel of a call: the op and exactly its parameters. */
function kernelOf(opts: RunRowsOptions): Extract<KernelSpec, { kind: 'rows' }> {
  const finite = (name: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`Cannot run a row kernel as '${name}' must be a finite number: current value is ${String(value)}`);
    return value;
  };
  switch (opts.op) {
    case 'layernorm':
      return opts.eps === undefined ? { kind: 'rows', op: 'layernorm' } : { kind: 'rows', op: 'layernorm', eps: finite('eps', opts.eps) };
    case 'affine':
      return { kind: 'rows', op: 'affine', alpha: finite('alpha', opts.alpha), beta: finite('beta', opts.beta) };
    case 'sum': case 'max': case 'softmax': case 'relu': case 'add': case 'mul':
      return { kind: 'rows', op: opts.op };
    default:
      throw new RangeError(`Cannot run a row kernel as 'op' is unknown: current value is ${JSON.stringify((opts as { op?: unknown }).op)}`);
  }
}

/** The contributor's side of a row-kernel lease: one task on the GPU lane once the inputs are in and checked. */
export const rowsTask: TaskMaker<'rows'> = ({ assign, pool }) => ({
  ...NO_MODEL,
  async compute(input) {
    const { kernel, spec } = assign;
    const inputs = unpackTensors(await input.whole(), spec.inputs);
    return timed(() => pool.run({ kind: 'rows', op: kernel.op, ...rowsParams(kernel), inputs }, { deadline: input.deadline() }));
  },
});
