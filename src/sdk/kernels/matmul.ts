/**
 * The built-in f32 matmul. Client side: C = A x B tiled, each tile a shard packed B first. Contributor side: the
 * tile runs while its inputs arrive, a row block of A at a time (../streamed-matmul.ts), and each block of C goes
 * on the wire as soon as it is computed; nothing is claimed before the inputs' hash checks.
 */
import { sha256Hex } from '../../core/hash.ts';
import { workUnitsForMatmul } from '../../core/cost.ts';
import { DEFAULT_TILE, matmulTileSide, type MeshFigures } from '../../core/shard-size.ts';
import { assembleMatmul, type MatmulTile, matmulTileOutput, matmulTiles } from '../../core/sharding.ts';
import type { KernelSpec, ShardSpec } from '../../protocol/kernel.ts';
import { checkExact, type JobPlan, type PackedShard } from '../job-plan.ts';
import { matmulOutputBytes, rowBlocks, streamedMatmul } from '../streamed-matmul.ts';
import type { RunMatmulOptions } from '../types.ts';
import { NO_MODEL, type TaskMaker } from './task.ts';

/** Side of a matmul tile when the caller does not choose one and nothing was measured (RunMatmulOptions.tile). */
export const DEFAULT_MATMUL_TILE = DEFAULT_TILE;

/**
 * Plans a tiled matmul C = A x B on the mesh with the built-in matmul kernel, which each contributor runs
 * with the tile configuration tuned for its own adapter. Tile side: the caller's `tile`, else sized from
 * `figures` (core/shard-size.ts; 512 when nothing is known).
 */
export async function planMatmul(opts: RunMatmulOptions, figures?: MeshFigures): Promise<JobPlan<Float32Array>> {
  const { a, b, m, k, n } = opts;
  if (!(a instanceof Float32Array) || a.length !== m * k) {
    throw new RangeError(`Cannot run a matmul as 'a' must be a Float32Array of m*k = ${m * k} values: current length is ${a?.length}`);
  }
  if (!(b instanceof Float32Array) || b.length !== k * n) {
    throw new RangeError(`Cannot run a matmul as 'b' must be a Float32Array of k*n = ${k * n} values: current length is ${b?.length}`);
  }
  const tiles = matmulTiles(m, n, opts.tile ?? matmulTileSide({ m, n, k }, figures));
  const kernel: KernelSpec = { kind: 'matmul' };
  // Packed before the first await, so the caller may reuse a and b as soon as this returns.
  const packed = tiles.map((tile) => packMatmulTile(a, b, k, n, tile));
  const shards = await Promise.all(tiles.map(async (tile, i) => {
    const { inputs, bytes } = packed[i]!;
    const spec: ShardSpec = {
      index: tile.index,
      inputs,
      outputs: [matmulTileOutput(tile)],
      inputHash: await sha256Hex(bytes),
      workUnits: workUnitsForMatmul(tile.mt, tile.nt, k),
    };
    return { spec, inputs: bytes };
  }));
  return {
    kernel,
    shards,
    checkOutputs: checkExact,
    assemble: (outputs) => {
      const blocks = outputs.map((o) => new Float32Array(o[0]!.data));
      // A single tile covering C already is C, row-major [m x n].
      const whole = tiles.length === 1 && blocks.length === 1 && blocks[0]!.length === m * n;
      return whole ? blocks[0]! : assembleMatmul(m, n, tiles, blocks);
    },
  };
}

/**
 * The packed inputs of one matmul tile, B first: the layout of `packTensors` over `matmulTileInputs(...)` in the
 * order b, a (B's columns made contiguous, then A's rows), written with one copy instead of two. B first lets a
 * contributor start on A's first rows while the rest arrive (streamed-matmul.ts).
 */
export function packMatmulTile(a: Float32Array, b: Float32Array, k: number, n: number, tile: MatmulTile): PackedShard {
  const { row, col, mt, nt } = tile;
  if (a.length < (row + mt) * k || b.length !== k * n || col + nt > n) {
    throw new RangeError(`Cannot pack tile ${tile.index} as it must lie inside A[${a.length / k}x${k}] and B[${k}x${n}]: current tile is rows ${row}+${mt}, columns ${col}+${nt}`);
  }
  const floats = new Float32Array(k * nt + mt * k);
  if (nt === n) floats.set(b, 0);
  else for (let r = 0; r < k; r++) floats.set(b.subarray(r * n + col, r * n + col + nt), r * nt);
  floats.set(a.subarray(row * k, (row + mt) * k), k * nt);
  return {
    inputs: [
      { name: 'b', dtype: 'float32', dims: [k, nt] },
      { name: 'a', dtype: 'float32', dims: [mt, k] },
    ],
    bytes: floats.buffer,
  };
}

/**
 * The contributor's side of a matmul lease: row blocks computed as A arrives, each block of C streamed out at
 * once. `ms` runs from B's arrival (the first block's start) to the last block's end, so it includes waits for
 * the rest of A.
 */
export const matmulTask: TaskMaker<'matmul'> = ({ assign, pool }) => ({
  ...NO_MODEL,
  async compute(input) {
    const { spec } = assign;
    const sink = input.output(matmulOutputBytes(spec.inputs));
    const deadline = input.deadline();
    let started: number | undefined;
    const c = await streamedMatmul(input.stream, spec.inputs, async (a, b) => {
      started ??= performance.now();
      const [out] = await pool.run({ kind: 'matmul', a, b }, { deadline });
      return out!;
    }, rowBlocks, sink);
    return { outputs: [c], ms: performance.now() - (started ?? performance.now()) };
  },
});
