/**
 * Splitting work into shards and putting results back together. Pure functions over plain tensors, shared by
 * the client SDK (split, pack, assemble) and the contributor (unpack). Two shapes of work:
 * - batches: every input shares a batch size on axis 0; a shard is a run of `itemsPerShard` items;
 * - matmul tiles: C[M,N] = A[M,K] x B[K,N] cut into row x column blocks of `tile` (the last ones smaller).
 */
import { DTYPE_BYTES, type DType, type TensorData, type TensorSpec, tensorBytes } from '../protocol/tensor.ts';

/** Number of shards a batch of `items` splits into. */
export function shardCount(items: number, itemsPerShard: number): number {
  checkPositiveInt('itemsPerShard', itemsPerShard);
  if (!Number.isSafeInteger(items) || items < 0) {
    throw new RangeError(`Cannot count shards as 'items' must be a non-negative integer: current value is ${items}`);
  }
  return Math.ceil(items / itemsPerShard);
}

/** Bytes of one item (one index along axis 0) of a tensor. */
export function itemBytes(spec: Pick<TensorSpec, 'dims' | 'dtype'>): number {
  return spec.dims.slice(1).reduce((a, b) => a * b, 1) * DTYPE_BYTES[spec.dtype];
}

/**
 * Splits tensors that share a batch size along axis 0 into shards of `itemsPerShard` items (the last one
 * smaller). Each shard holds one tensor per input, same names and dtypes, each owning a fresh ArrayBuffer.
 */
export function splitBatch(tensors: readonly TensorData[], itemsPerShard: number): TensorData[][] {
  const batch = batchSize(tensors);
  const count = shardCount(batch, itemsPerShard);
  const shards: TensorData[][] = [];
  for (let s = 0; s < count; s++) {
    const start = s * itemsPerShard;
    const items = Math.min(itemsPerShard, batch - start);
    shards.push(tensors.map((t) => {
      const per = itemBytes(t);
      return { name: t.name, dtype: t.dtype, dims: [items, ...t.dims.slice(1)], data: t.data.slice(start * per, (start + items) * per) };
    }));
  }
  return shards;
}

/** The batch size shared by tensors on axis 0; throws RangeError if they disagree or lack axis 0. */
export function batchSize(tensors: readonly Pick<TensorSpec, 'name' | 'dims'>[]): number {
  if (tensors.length === 0) throw new RangeError('Cannot find a batch size as there are no tensors: current count is 0');
  const first = tensors[0]!.dims[0];
  for (const t of tensors) {
    if (t.dims.length === 0 || t.dims[0] !== first) {
      throw new RangeError(
        `Cannot split '${t.name}' along axis 0 as all inputs must share one batch size: current dims are [${t.dims}], expected [${first}, ...]`,
      );
    }
  }
  return first!;
}

/** Concatenates the bytes of tensors in order into one ArrayBuffer (the shard's wire form). */
export function packTensors(tensors: readonly { data: ArrayBuffer | ArrayBufferView }[]): ArrayBuffer {
  const total = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const t of tensors) {
    out.set(asBytes(t.data), at);
    at += t.data.byteLength;
  }
  return out.buffer;
}

/** Splits a packed buffer back into tensors by their specs; each tensor owns a copy of its bytes. */
export function unpackTensors(buffer: ArrayBuffer, specs: readonly TensorSpec[]): TensorData[] {
  const expected = specs.reduce((n, s) => n + tensorBytes(s), 0);
  if (buffer.byteLength !== expected) {
    throw new RangeError(
      `Cannot unpack tensors as the buffer must hold ${expected} bytes for [${specs.map((s) => s.name)}]: current length is ${buffer.byteLength}`,
    );
  }
  let at = 0;
  return specs.map((s) => {
    const bytes = tensorBytes(s);
    const data = buffer.slice(at, at + bytes);
    at += bytes;
    return { name: s.name, dtype: s.dtype, dims: [...s.dims], data };
  });
}

/**
 * Concatenates shard outputs along axis 0: `shards[i][j]` is output j of shard i. Every shard must give the
 * same outputs with the same dtype and trailing dims; the result's axis 0 is the sum of the shards'.
 */
export function concatBatch(shards: readonly (readonly TensorData[])[]): TensorData[] {
  const first = shards[0];
  if (!first) throw new RangeError('Cannot concatenate shards as there are none: current count is 0');
  return first.map((head, j) => {
    const parts = shards.map((shard, i) => {
      const t = shard[j];
      if (!t || t.name !== head.name || t.dtype !== head.dtype || t.dims.length === 0 ||
          t.dims.slice(1).join() !== head.dims.slice(1).join()) {
        throw new RangeError(
          `Cannot concatenate output ${j} of shard ${i} as it must match ${describe(head)} past axis 0: current value is ${t ? describe(t) : 'missing'}`,
        );
      }
      return t;
    });
    const items = parts.reduce((n, t) => n + t.dims[0]!, 0);
    return { name: head.name, dtype: head.dtype, dims: [items, ...head.dims.slice(1)], data: packTensors(parts) };
  });
}

/** One tile of C: rows [row, row+mt) and columns [col, col+nt). */
export interface MatmulTile {
  index: number;
  row: number;
  col: number;
  mt: number;
  nt: number;
}

/** Row-major tiles of C[m x n], `tile` square (the last row/column of tiles smaller). */
export function matmulTiles(m: number, n: number, tile = 128): MatmulTile[] {
  checkPositiveInt('m', m);
  checkPositiveInt('n', n);
  checkPositiveInt('tile', tile);
  const tiles: MatmulTile[] = [];
  for (let row = 0; row < m; row += tile) {
    for (let col = 0; col < n; col += tile) {
      tiles.push({ index: tiles.length, row, col, mt: Math.min(tile, m - row), nt: Math.min(tile, n - col) });
    }
  }
  return tiles;
}

/**
 * The inputs a matmul tile's shard needs (the built-in matmul kernel): `a` = rows of A [mt x k] and
 * `b` = columns of B [k x nt] copied to contiguous row-major.
 */
export function matmulTileInputs(a: Float32Array, b: Float32Array, k: number, n: number, tile: MatmulTile): TensorData[] {
  checkPositiveInt('k', k);
  if (b.length !== k * n) {
    throw new RangeError(`Cannot tile B as it must hold k*n = ${k * n} values: current length is ${b.length}`);
  }
  if (a.length < (tile.row + tile.mt) * k) {
    throw new RangeError(`Cannot tile A as it must hold at least ${(tile.row + tile.mt) * k} values: current length is ${a.length}`);
  }
  const aBlock = a.slice(tile.row * k, (tile.row + tile.mt) * k);
  const bBlock = new Float32Array(k * tile.nt);
  for (let r = 0; r < k; r++) bBlock.set(b.subarray(r * n + tile.col, r * n + tile.col + tile.nt), r * tile.nt);
  return [
    { name: 'a', dtype: 'float32', dims: [tile.mt, k], data: aBlock.buffer },
    { name: 'b', dtype: 'float32', dims: [k, tile.nt], data: bBlock.buffer },
  ];
}

/** The output spec of a matmul tile: C block [mt x nt] f32. */
export function matmulTileOutput(tile: MatmulTile): TensorSpec {
  return { name: 'c', dtype: 'float32', dims: [tile.mt, tile.nt] };
}

/** Writes every tile's C block (row-major [mt x nt]) into C[m x n]. */
export function assembleMatmul(m: number, n: number, tiles: readonly MatmulTile[], blocks: readonly Float32Array[]): Float32Array {
  if (blocks.length !== tiles.length) {
    throw new RangeError(`Cannot assemble C as there must be one block per tile (${tiles.length}): current count is ${blocks.length}`);
  }
  const c = new Float32Array(m * n);
  tiles.forEach((t, i) => {
    const block = blocks[i]!;
    if (block.length !== t.mt * t.nt || t.row + t.mt > m || t.col + t.nt > n) {
      throw new RangeError(`Cannot place tile ${t.index} as its block must hold ${t.mt * t.nt} values inside C: current length is ${block.length}`);
    }
    for (let r = 0; r < t.mt; r++) c.set(block.subarray(r * t.nt, (r + 1) * t.nt), (t.row + r) * n + t.col);
  });
  return c;
}

/** Typed-array view of a tensor's data by dtype (int64 as BigInt64Array). */
export function typedView(dtype: DType, data: ArrayBuffer): Float32Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array {
  switch (dtype) {
    case 'float32': return new Float32Array(data);
    case 'int32': return new Int32Array(data);
    case 'uint32': return new Uint32Array(data);
    case 'int64': return new BigInt64Array(data);
    case 'uint8': return new Uint8Array(data);
  }
}

function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function describe(t: Pick<TensorSpec, 'name' | 'dtype' | 'dims'>): string {
  return `${t.name}:${t.dtype}[${t.dims}]`;
}

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot shard as '${name}' must be a positive integer: current value is ${value}`);
  }
}
