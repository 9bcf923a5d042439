// Benchmark harness for the browser result cache: a page is either a contributor (it keeps verified outputs in
// its IndexedDB result store) or the client that runs one job kind with inputs from a seed and times it. Inputs
// are built outside the timed region; the timed region is what a caller waits for (submit to result).
import * as sdk from '../../src/sdk/index.ts';
import { catalogModel } from './page-catalog.ts';
import { closeMesh, connected, connectMesh } from './page-mesh.ts';
import { ResultStore } from '../../src/storage/index.ts';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

/** What a job run reports. */
export interface CacheRun {
  ms: number;
  shards: number;
  /** Result bytes hashed, so two runs of the same inputs can be compared. */
  digest: string;
  /** Distinct shard outputs (a contributor's store keeps equal outputs once). */
  outputs: number;
}

async function distinctOutputs(handle: { jobId: Promise<string> }): Promise<number> {
  const detail = await connected().client.jobDetail(await handle.jobId);
  return new Set(detail.shards.map((s) => s.outputHash)).size;
}

/** Why this contributor's shards failed, by failure class (or error text), for the bench's error messages. */
const failures: Record<string, number> = {};

async function digest(values: ArrayBufferView): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice()));
  return Array.from(h.slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

const api = {
  /** Connects this page to the coordinator serving it; returns the peer id. */
  async connect(): Promise<string> {
    return connectMesh();
  },

  /** Starts contributing (one lease at a time) with an empty result store. */
  async contribute(): Promise<void> {
    await new ResultStore().clear();
    connected().contributor.addEventListener('shard', (e) => {
      const d = (e as CustomEvent<sdk.ShardEventDetail>).detail;
      if (d.phase === 'failed') failures[d.failure ?? d.error ?? '?'] = (failures[d.failure ?? d.error ?? '?'] ?? 0) + 1;
    });
    await connected().contributor.start({ cpuCap: 1, gpuCap: 1, maxConcurrent: 1, backgroundTuning: false });
  },

  /** This contributor's counters: shards finished, answered from its store, outputs stored. */
  async counters(): Promise<{ shardsRun: number; cacheServed: number; stored: number; failures: Record<string, number> }> {
    const { shardsRun, cacheServed } = connected().contributor.stats;
    return { shardsRun, cacheServed, stored: (await new ResultStore().usage()).entries, failures: { ...failures } };
  },

  /**
   * Runs PP-OCRv4 detection over `batch` text images of `height` x `width` (one image per shard), the images
   * varied by `seed` (one pixel per image), or a `size`^3 f32 matmul in `tile`-sized tiles with inputs from `seed`.
   */
  async run(job: { kind: 'ocr'; batch: number; height: number; width: number } | { kind: 'matmul'; size: number; tile: number }, seed: number, verifyFraction: number): Promise<CacheRun> {
    const client = connected().client;
    if (job.kind === 'matmul') {
      const { size, tile } = job;
      const a = Float32Array.from({ length: size * size }, (_, i) => ((i * 7 + seed) % 5) - 2);
      const b = Float32Array.from({ length: size * size }, (_, i) => ((i * 3 + seed * 11) % 5) - 2);
      const t0 = performance.now();
      const handle = client.runMatmul({ a, b, m: size, k: size, n: size, tile, verifyFraction });
      const events: unknown[] = [];
      handle.addEventListener('progress', (e) => events.push((e as CustomEvent).detail));
      // A failed job says what happened to each shard, for whoever reads the bench's error.
      const c = await handle.result.catch(async (err: Error) => {
        throw new Error(`${err.message}; events ${JSON.stringify(events)}; detail ${JSON.stringify(await client.jobDetail(await handle.jobId))}`);
      });
      const ms = performance.now() - t0;
      await handle.cost;
      return { ms, shards: (size / tile) ** 2, digest: await digest(c), outputs: await distinctOutputs(handle) };
    }
    const model = await catalogModel('ppocr-det-v4', 'run the detector');
    const { batch, height, width } = job;
    const x = renderTextImages(batch, height, width);
    for (let i = 0; i < batch; i++) x[i * 3 * height * width] = (seed % 1000) / 1000;
    const t0 = performance.now();
    const handle = client.runOnnx({
      model: { url: model.url, name: model.id },
      inputs: { [model.input.name]: { dtype: 'float32', dims: [batch, 3, height, width], data: x } },
      outputs: model.outputs,
      itemsPerShard: 1,
      verifyFraction,
    });
    const out = await handle.result;
    const ms = performance.now() - t0;
    await handle.cost;
    const first = Object.values(out)[0]!;
    return { ms, shards: batch, digest: await digest(first.data), outputs: await distinctOutputs(handle) };
  },

  /** Closes the mesh connection. */
  async close(): Promise<void> {
    await closeMesh();
  },
};

/** What bench/cache.mjs reaches through `window.benchCache`. */
export type CacheBench = typeof api;

declare global {
  interface Window {
    benchCache: CacheBench;
  }
}

window.benchCache = api;
document.body.dataset.ready = 'true';
