// Benchmark harness for continuous serving: one page contributes (its replica keeps the PP-OCRv4 detector
// loaded), another opens services with continuous batching on (maxBatch 16) or off (maxBatch 1) and drives
// `concurrency` callers, each sending its next request as soon as the last one answered. Inputs are rendered
// before the timed region; a round's figures come from the handle's own stats plus wall time.
import * as sdk from '../../src/sdk/index.ts';
import { catalogModel } from './page-catalog.ts';
import { closeMesh, connected, connectMesh } from './page-mesh.ts';
import { ComputePool } from '../../src/compute/index.ts';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

/** One round's figures. */
export interface ServeRound {
  requests: number;
  wallMs: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanBatch: number;
  maxBatch: number;
  busy: number;
}

const services = new Map<string, sdk.ServiceHandle>();
let images: Float32Array | undefined;
let dims: number[] = [];

const api = {
  async connect(): Promise<string> {
    return connectMesh();
  },

  async contribute(): Promise<void> {
    await connected().contributor.start({ cpuCap: 1, gpuCap: 1, backgroundTuning: false, maxConcurrent: 4 });
  },

  /** Opens a service named `name` with this maxBatch; waits for its replica. */
  async open(name: string, maxBatch: number, h: number, w: number): Promise<string> {
    const model = await catalogModel('ppocr-det-v4', 'serve the detector');
    const handle = await connected().client.serve({ model: { url: model.url, name: model.id }, outputs: model.outputs, maxBatch, maxWaitMs: 2, replicas: 1, budget: 500_000_000 });
    await handle.ready();
    services.set(name, handle);
    images = renderTextImages(16, h, w);
    dims = [1, 3, h, w];
    return handle.serviceId;
  },

  /** `total` requests from `concurrency` callers on service `name`; its stats reset per round by difference. */
  async round(name: string, concurrency: number, total: number): Promise<ServeRound> {
    const handle = services.get(name)!;
    const item = dims[1]! * dims[2]! * dims[3]!;
    const latencies: number[] = [];
    const busyBefore = handle.stats().busy;
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const k = i % 16;
        const t = performance.now();
        await handle.infer({ x: { dtype: 'float32', dims, data: images!.subarray(k * item, (k + 1) * item) } });
        latencies.push(performance.now() - t);
      }
    }));
    const wallMs = performance.now() - started;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    const s = handle.stats();
    return {
      requests: total,
      wallMs,
      requestsPerSec: (total * 1000) / wallMs,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      meanBatch: s.meanBatch,
      maxBatch: s.maxBatch,
      busy: s.busy - busyBefore,
    };
  },

  /**
   * The model alone, in a ComputePool of this page (as a contributor runs it): ms per item of `reps` runs at
   * batch 1 and at batch `batch` (same items), so the bench can say what batching can gain on this model at all.
   */
  async direct(batch: number, reps: number): Promise<{ single: number; batched: number; varied: number }> {
    const model = await catalogModel('ppocr-det-v4', 'run the detector in the page');
    const bytes = await (await fetch(model.url)).arrayBuffer();
    const pool = await ComputePool.create({ cpuCap: 1, gpuCap: 1, backgroundTuning: false });
    try {
      const item = dims[1]! * dims[2]! * dims[3]!;
      const task = (n: number, withModel: boolean) => ({
        modelHash: model.hash,
        ...(withModel ? { model: bytes.slice(0) } : {}),
        inputs: [{ name: 'x', dtype: 'float32' as const, dims: [n, ...dims.slice(1)], data: images!.slice(0, n * item).buffer }],
        outputNames: model.outputs,
        ep: 'wasm' as const,
      });
      await pool.runOnnx(task(1, true));
      await pool.runOnnx(task(batch, false));
      let t = performance.now();
      for (let r = 0; r < reps; r++) for (let i = 0; i < batch; i++) await pool.runOnnx(task(1, false));
      const single = (performance.now() - t) / (reps * batch);
      t = performance.now();
      for (let r = 0; r < reps; r++) await pool.runOnnx(task(batch, false));
      const batched = (performance.now() - t) / (reps * batch);
      // Batch sizes as continuous batching makes them: varying from run to run around `batch`.
      const sizes = Array.from({ length: reps * 2 }, (_, i) => Math.max(1, batch - 3 + ((i * 5) % 7)));
      t = performance.now();
      for (const n of sizes) await pool.runOnnx(task(n, false));
      const varied = (performance.now() - t) / sizes.reduce((a, b) => a + b, 0);
      return { single, batched, varied };
    } finally {
      pool.terminate();
    }
  },

  /** The contributor's replicas' batch counters (lease id -> stats). */
  replicaStats: () => connected().contributor.serving.stats,

  async closeAll(): Promise<void> {
    for (const h of services.values()) await h.close().catch(() => {});
    services.clear();
  },

  close: closeMesh,
};

declare global {
  interface Window {
    benchServe: typeof api;
  }
}
window.benchServe = api;
document.body.dataset.ready = 'true';
