/**
 * A matmul shard run while its inputs arrive. C = A x B row by row needs all of B but only A's rows of each
 * block, so a shard packed B first (job-plan.ts packMatmulTile) starts its first row block as soon as B and
 * that block's rows are in, and computes each later block while the rest of A still crosses the link. Every
 * row of C is computed by the same kernel from the same row of A and the same B as in one call over the whole
 * shard, so the blocks concatenated equal that call. Inputs packed A first (older clients) run in one call once
 * they are complete.
 */
import { MeshError } from '../protocol/errors.ts';
import type { TensorData, TensorSpec } from '../protocol/tensor.ts';

/** What the streamed run reads: the inputs blob by prefix (see BlobStream). */
export interface PrefixSource {
  readonly size: number;
  waitFor(bytes: number): Promise<Uint8Array>;
}

/** Runs one matmul (the pool's runMatmul): it takes ownership of the buffers it is given. */
export type MatmulCall = (a: TensorData, b: TensorData) => Promise<TensorData>;

/** Where A [m x k] and B [k x n] lie in a packed shard, in bytes. */
export interface MatmulLayout {
  m: number;
  k: number;
  n: number;
  aAt: number;
  bAt: number;
}

/** Least rows of A in one block: smaller blocks cost more per call than their earlier start saves. */
export const MIN_BLOCK_ROWS = 64;
/** Blocks a shard is cut into at most: on SwiftShader every call pays a B upload and a readback, and 4 blocks measured slower than 2. */
export const MAX_BLOCKS = 2;

/** The layout of a matmul shard's inputs `a` and `b` (f32) by name; throws MeshError for anything else. */
export function matmulLayout(specs: readonly TensorSpec[]): MatmulLayout {
  const names = specs.map((s) => s.name).sort().join();
  if (specs.length !== 2 || names !== 'a,b' || specs.some((s) => s.dtype !== 'float32' || s.dims.length !== 2)) {
    throw new MeshError('invalid-message', `Cannot run a matmul shard as it must carry exactly f32 matrices a and b: current inputs are [${specs.map((s) => `${s.name}:${s.dtype}[${s.dims}]`).join(', ')}]`);
  }
  const at = (i: number) => specs.slice(0, i).reduce((sum, s) => sum + s.dims[0]! * s.dims[1]! * 4, 0);
  const ia = specs.findIndex((s) => s.name === 'a');
  const ib = 1 - ia;
  const [m, k] = specs[ia]!.dims as [number, number];
  const [kb, n] = specs[ib]!.dims as [number, number];
  if (k !== kb) throw new MeshError('invalid-message', `Cannot run a matmul shard as a's columns must equal b's rows (${kb}): current value is ${k}`);
  return { m, k, n, aAt: at(ia), bAt: at(ib) };
}

/** Row blocks [start, rows) for `m` rows: at most MAX_BLOCKS, each at least MIN_BLOCK_ROWS (but the last). */
export function rowBlocks(m: number, maxBlocks = MAX_BLOCKS, minRows = MIN_BLOCK_ROWS): [number, number][] {
  const rows = Math.max(minRows, Math.ceil(m / maxBlocks));
  const out: [number, number][] = [];
  for (let r = 0; r < m; r += rows) out.push([r, Math.min(rows, m - r)]);
  return out;
}

/** Hears each finished block of C in row order: its rows' bytes, a view that stays valid and unchanged. */
export type BlockSink = (bytes: Uint8Array) => void;

/** The byte size of C for a shard's inputs (what a streamed output announces before the first block). */
export function matmulOutputBytes(specs: readonly TensorSpec[]): number {
  const { m, n } = matmulLayout(specs);
  return m * n * 4;
}

/**
 * Computes C [m x n] from `source`, block by block when B comes first, each block as soon as its bytes are in;
 * `onBlock` hears each block's rows of C as soon as they are computed (they can go on the wire while the next
 * block runs). Resolves with C as one tensor named `c`.
 */
export async function streamedMatmul(source: PrefixSource, specs: readonly TensorSpec[], call: MatmulCall, blocks = rowBlocks, onBlock?: BlockSink): Promise<TensorData> {
  const { m, k, n, aAt, bAt } = matmulLayout(specs);
  const bBytes = k * n * 4;
  const tensor = (name: string, rows: number, cols: number, data: ArrayBuffer): TensorData => ({ name, dtype: 'float32', dims: [rows, cols], data });
  if (aAt < bAt) {
    // A first: nothing can start before B's last byte, so run once on the whole.
    const all = await source.waitFor(source.size);
    const a = all.slice(aAt, aAt + m * k * 4).buffer;
    const b = all.slice(bAt, bAt + bBytes).buffer;
    const out = await call(tensor('a', m, k, a), tensor('b', k, n, b));
    onBlock?.(new Uint8Array(out.data as ArrayBuffer));
    return out;
  }
  const c = new Float32Array(m * n);
  const parts = blocks(m);
  let buffer: Uint8Array;
  for (const [row, rows] of parts) {
    const end = aAt + (row + rows) * k * 4;
    buffer = await source.waitFor(end);
    // The pool detaches what it runs: each call gets its own copies (B's is the price of starting early).
    const a = buffer.slice(aAt + row * k * 4, end).buffer;
    const b = buffer.slice(bAt, bAt + bBytes).buffer;
    const out = await call(tensor('a', rows, k, a), tensor('b', k, n, b));
    if (out.data.byteLength !== rows * n * 4) {
      throw new MeshError('internal', `Cannot assemble C as block ${row}+${rows} must hold ${rows * n} values: current count is ${out.data.byteLength / 4}`);
    }
    if (parts.length === 1) {
      onBlock?.(new Uint8Array(out.data as ArrayBuffer));
      return out;
    }
    c.set(new Float32Array(out.data as ArrayBuffer), row * n);
    onBlock?.(new Uint8Array(c.buffer, row * n * 4, rows * n * 4));
  }
  return { name: 'c', dtype: 'float32', dims: [m, n], data: c.buffer };
}
