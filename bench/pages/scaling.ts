// Benchmark harness for scaling: a page is either a contributor (capped to a duty cycle) or the client that
// runs one data-parallel PP-OCRv4 detector job (one image per shard) and times it. Inputs are rendered outside
// the timed region; the timed region is what a caller waits for (submit to result).
import * as sdk from '../../src/sdk/index.ts';
import { catalogModel, type ModelEntry } from './page-catalog.ts';
import { closeMesh, connected, connectMesh } from './page-mesh.ts';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

let job: { model: ModelEntry; x: Float32Array; dims: number[] } | undefined;

const api = {
  /** Connects this page to the coordinator serving it; returns the peer id. */
  async connect(): Promise<string> {
    return connectMesh();
  },

  /** Starts contributing at the same cap for CPU and GPU, one lease computing at a time and `prefetch` more taken. */
  async contribute(cap: number, prefetch = 0): Promise<void> {
    await connected().contributor.start({ cpuCap: cap, gpuCap: cap, maxConcurrent: 1, prefetch, backgroundTuning: false });
  },

  /** Stops contributing. */
  async stop(): Promise<void> {
    await connected().contributor.stop();
  },

  /** Shards this contributor ran. */
  shardsRun: () => connected().contributor.stats.shardsRun,

  /** Renders `batch` text images for the job. */
  async setup(batch: number, height: number, width: number): Promise<void> {
    const model = await catalogModel('ppocr-det-v4', 'set up the detector');
    job = { model, x: renderTextImages(batch, height, width), dims: [batch, 3, height, width] };
  },

  /** Runs the batch as a job of one image per shard; resolves with its ms and the contributors that ran shards. */
  async run(): Promise<{ ms: number; contributors: number }> {
    if (!job) throw new Error('Cannot run the job as it was not set up: call setup() first');
    const { model, x, dims } = job;
    const t0 = performance.now();
    const handle = connected().client.runOnnx({
      model: { url: model.url, name: model.id },
      inputs: { [model.input.name]: { dtype: 'float32', dims, data: x } },
      outputs: model.outputs,
      itemsPerShard: 1,
      verifyFraction: 0,
    });
    const who = new Set<string>();
    handle.addEventListener('progress', (e) => {
      const c = (e as CustomEvent<sdk.JobProgress>).detail.contributor;
      if (c) who.add(c);
    });
    await handle.result;
    const ms = performance.now() - t0;
    await handle.cost; // settled before the next run starts
    return { ms, contributors: who.size };
  },

  /** Closes the mesh connection. */
  async close(): Promise<void> {
    await closeMesh();
  },
};

/** What bench/scaling.mjs reaches through `window.benchScaling`. */
export type ScalingBench = typeof api;

declare global {
  interface Window {
    benchScaling: ScalingBench;
  }
}

window.benchScaling = api;
document.body.dataset.ready = 'true';
