import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../core/testing/prng.ts';
import { matmulTileInputs, matmulTiles, packTensors } from '../core/sharding.ts';
import type { TensorData } from '../protocol/tensor.ts';
import { packMatmulTile } from './kernels/index.ts';
import { matmulLayout, matmulOutputBytes, type PrefixSource, rowBlocks, streamedMatmul } from './streamed-matmul.ts';

/** C = A x B on the CPU, f32 accumulation in k order (one fixed order per element, as a kernel has). */
function cpuMatmul(a: TensorData, b: TensorData): TensorData {
  const [m, k] = a.dims as [number, number];
  const n = b.dims[1]!;
  const A = new Float32Array(a.data);
  const B = new Float32Array(b.data);
  const C = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s = Math.fround(s + Math.fround(A[i * k + p]! * B[p * n + j]!));
      C[i * n + j] = s;
    }
  }
  return { name: 'c', dtype: 'float32', dims: [m, n], data: C.buffer };
}

/** Delivers `bytes` in chunks of random size, one per macrotask; records how much had arrived at each call. */
class ChunkedSource implements PrefixSource {
  readonly size: number;
  received = 0;
  readonly #bytes: Uint8Array;
  readonly #buffer: Uint8Array;
  readonly #waiters: { bytes: number; resolve: (b: Uint8Array) => void }[] = [];

  constructor(bytes: Uint8Array, seed: number) {
    this.size = bytes.byteLength;
    this.#bytes = bytes;
    this.#buffer = new Uint8Array(bytes.byteLength);
    const next = rng(seed);
    const tick = () => {
      const end = Math.min(this.size, this.received + 1 + next(4096));
      this.#buffer.set(this.#bytes.subarray(this.received, end), this.received);
      this.received = end;
      for (const w of this.#waiters.splice(0)) {
        if (w.bytes <= this.received) w.resolve(this.#buffer);
        else this.#waiters.push(w);
      }
      if (this.received < this.size) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
  }

  waitFor(bytes: number): Promise<Uint8Array> {
    if (bytes <= this.received) return Promise.resolve(this.#buffer);
    return new Promise((resolve) => this.#waiters.push({ bytes, resolve }));
  }
}

function randomMatrices(m: number, k: number, n: number, seed: number): { a: Float32Array; b: Float32Array } {
  const next = rng(seed);
  const a = Float32Array.from({ length: m * k }, () => next(2001) / 1000 - 1);
  const b = Float32Array.from({ length: k * n }, () => next(2001) / 1000 - 1);
  return { a, b };
}

describe('streamedMatmul()', () => {
  it('a shard computed from partial chunks, block by block, equals the whole shard computed at once', async () => {
    const m = 300, k = 70, n = 90;
    const { a, b } = randomMatrices(m, k, n, 7);
    for (const tile of matmulTiles(m, n, 256)) {
      const [ta, tb] = matmulTileInputs(a, b, k, n, tile);
      const whole = new Float32Array(cpuMatmul(ta!, tb!).data);
      const packed = packMatmulTile(a, b, k, n, tile);
      const source = new ChunkedSource(new Uint8Array(packed.bytes), tile.index + 1);
      const calls: { rows: number; arrived: number }[] = [];
      const c = await streamedMatmul(source, packed.inputs, async (ba, bb) => {
        calls.push({ rows: ba.dims[0]!, arrived: source.received });
        return cpuMatmul(ba, bb);
      });
      assert.deepEqual(c.dims, [tile.mt, tile.nt]);
      assert.deepEqual(new Float32Array(c.data), whole, `tile ${tile.index}: bit for bit`);
      assert.deepEqual(calls.map((x) => x.rows), rowBlocks(tile.mt).map(([, rows]) => rows));
      if (calls.length > 1) assert.ok(calls[0]!.arrived < source.size, `tile ${tile.index}: the first block started at ${calls[0]!.arrived} of ${source.size} bytes`);
    }
  });

  it('onBlock hears each block of C in row order as it finishes, and the blocks concatenated are C', async () => {
    const m = 200, k = 16, n = 24;
    const { a, b } = randomMatrices(m, k, n, 21);
    const [tile] = matmulTiles(m, n, 256);
    const packed = packMatmulTile(a, b, k, n, tile!);
    const source = new ChunkedSource(new Uint8Array(packed.bytes), 4);
    const events: string[] = [];
    const blocks: Uint8Array[] = [];
    const c = await streamedMatmul(source, packed.inputs, async (ba, bb) => {
      events.push(`call ${ba.dims[0]}`);
      return cpuMatmul(ba, bb);
    }, rowBlocks, (bytes) => {
      events.push(`block ${bytes.byteLength / (n * 4)}`);
      blocks.push(bytes.slice());
    });
    assert.deepEqual(events, ['call 100', 'block 100', 'call 100', 'block 100']);
    const joined = new Uint8Array(matmulOutputBytes(packed.inputs));
    let at = 0;
    for (const block of blocks) {
      joined.set(block, at);
      at += block.byteLength;
    }
    assert.equal(at, m * n * 4);
    assert.deepEqual(joined, new Uint8Array(c.data as ArrayBuffer));
  });

  it('runs a shard packed A first (an older client) in one call once it is whole', async () => {
    const m = 130, k = 8, n = 5;
    const { a, b } = randomMatrices(m, k, n, 3);
    const [tile] = matmulTiles(m, n, 256);
    const inputs = matmulTileInputs(a, b, k, n, tile!);
    const specs = inputs.map(({ name, dtype, dims }) => ({ name, dtype, dims }));
    const source = new ChunkedSource(new Uint8Array(packTensors(inputs)), 11);
    let arrivedAtCall = -1;
    const c = await streamedMatmul(source, specs, async (ba, bb) => {
      arrivedAtCall = source.received;
      return cpuMatmul(ba, bb);
    });
    assert.equal(arrivedAtCall, source.size);
    assert.deepEqual(new Float32Array(c.data), new Float32Array(cpuMatmul(inputs[0]!, inputs[1]!).data));
  });

  it('matmulLayout() refuses inputs that are not exactly f32 a and b with matching k', () => {
    assert.throws(() => matmulLayout([{ name: 'a', dtype: 'float32', dims: [2, 3] }]), /exactly f32 matrices a and b/);
    assert.throws(() => matmulLayout([{ name: 'b', dtype: 'float32', dims: [4, 2] }, { name: 'a', dtype: 'float32', dims: [2, 3] }]), /a's columns must equal b's rows \(4\)/);
    assert.deepEqual(matmulLayout([{ name: 'b', dtype: 'float32', dims: [3, 2] }, { name: 'a', dtype: 'float32', dims: [5, 3] }]), { m: 5, k: 3, n: 2, aAt: 24, bAt: 0 });
  });

  it('rowBlocks() cuts at most MAX_BLOCKS blocks of at least MIN_BLOCK_ROWS rows, covering every row once', () => {
    assert.deepEqual(rowBlocks(1024), [[0, 512], [512, 512]]);
    assert.deepEqual(rowBlocks(100), [[0, 64], [64, 36]]);
    assert.deepEqual(rowBlocks(10), [[0, 10]]);
  });
});
