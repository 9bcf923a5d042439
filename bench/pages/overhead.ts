// Benchmark harness for mesh overhead: the same work (a) PP-OCRv4 detector over rendered text images and
// (b) a WGSL matmul, run directly in this page (onnxruntime-web with the thread count a contributor's pool
// uses; src/compute's ComputePool) and through the SDK on a contributor in another page.
// Inputs are prepared outside every timed region; each timed region is what a caller waits for.
import * as ort from 'onnxruntime-web/wasm';
import { randomFloats } from '../../shaders/testing/reference.ts';
import { ComputePool, hostInfo, ortThreads } from '../../src/compute/index.ts';
import * as sdk from '../../src/sdk/index.ts';
import { catalog, catalogModel, type ModelEntry } from './page-catalog.ts';
import { closeMesh, connected, connectMesh } from './page-mesh.ts';
import { ModelCache } from '../../src/storage/index.ts';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

/** What the onnx measures ran on. */
export interface OnnxSetup {
  crossOriginIsolated: boolean;
  threads: number;
  modelUrl: string;
  dims: number[];
}

const CAPS = { cpuCap: 1, gpuCap: 1, backgroundTuning: false };

/** Wall-clock milliseconds with sub-ms resolution, comparable between pages of one machine. */
const now = () => performance.timeOrigin + performance.now();

/** When a mesh run's phases ended on the client (absolute ms, see `now`). */
export interface MeshTimes {
  ms: number;
  maxAbsDiff: number;
  startAt: number;
  submittedAt: number;
  resultAt: number;
}

/** A lease as the contributor saw it: absolute start and end, and the compute time it reported. */
export interface LeaseTimes {
  startAt: number;
  doneAt: number;
  computeMs: number;
}

const leases = new Map<string, { startAt: number; doneAt?: number; computeMs?: number }>();
let lastLease: string | undefined;

let onnx: { model: ModelEntry; x: Float32Array; dims: number[]; session: ort.InferenceSession; reference: Float32Array | undefined } | undefined;
let matmul: { a: Float32Array; b: Float32Array; n: number; pool: ComputePool; reference: Float32Array | undefined } | undefined;

function onnxSetup() {
  if (!onnx) throw new Error('Cannot run the detector as it was not set up: call setupOnnx() first');
  return onnx;
}

function matmulSetup() {
  if (!matmul) throw new Error('Cannot run the matmul as it was not set up: call setupMatmul() first');
  return matmul;
}

/** Largest |a - b| (Infinity when lengths differ). */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const api = {
  /** Connects this page to the coordinator serving it; returns the peer id. */
  async connect(): Promise<string> {
    return connectMesh();
  },

  /** Starts contributing with both caps at 1; returns the ORT thread count its pool uses. */
  async contribute(): Promise<{ threads: number; crossOriginIsolated: boolean }> {
    const contributor = connected().contributor;
    contributor.addEventListener('shard', (e) => {
      const d = (e as CustomEvent<sdk.ShardEventDetail>).detail;
      if (d.phase === 'start') {
        leases.set(d.leaseId, { startAt: now() });
        lastLease = d.leaseId;
      } else {
        const l = leases.get(d.leaseId);
        if (l) Object.assign(l, { doneAt: now(), ...(d.ms === undefined ? {} : { computeMs: d.ms }) });
      }
    });
    const caps = await contributor.start(CAPS);
    return { threads: ortThreads(caps.cpu.cores, CAPS.cpuCap), crossOriginIsolated: caps.cpu.crossOriginIsolated };
  },

  /** Shards this contributor ran. */
  shardsRun: () => connected().contributor.stats.shardsRun,

  /** Timing of the last lease this contributor finished. */
  lastLease(): LeaseTimes {
    const l = lastLease === undefined ? undefined : leases.get(lastLease);
    if (!l || l.doneAt === undefined || l.computeMs === undefined) throw new Error(`Cannot report the last lease as it did not finish: current value is ${JSON.stringify(l)}`);
    return { startAt: l.startAt, doneAt: l.doneAt, computeMs: l.computeMs };
  },

  /**
   * Milliseconds of one read of the detector from this page's model cache (IndexedDB), which a contributor
   * does before answering each ONNX lease; NaN if the model is not cached here.
   */
  async modelCacheReadMs(): Promise<number> {
    const hash = (await catalog()).find((m) => m.id === 'ppocr-det-v4')?.hash ?? '';
    const t0 = performance.now();
    const got = await new ModelCache().get(hash);
    return got ? performance.now() - t0 : NaN;
  },

  /** Renders `batch` text images and opens an in-page ORT session with the contributor pool's thread count. */
  async setupOnnx(batch: number, height: number, width: number): Promise<OnnxSetup> {
    const model = await catalogModel('ppocr-det-v4', 'set up the detector');
    const threads = ortThreads(hostInfo().cores, CAPS.cpuCap);
    ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const bytes = new Uint8Array(await (await fetch(model.url)).arrayBuffer());
    // Same options as the contributor's worker (workers/onnx/sessions.ts).
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const dims = [batch, 3, height, width];
    onnx = { model, x: renderTextImages(batch, height, width), dims, session, reference: undefined };
    return { crossOriginIsolated, threads, modelUrl: model.url, dims };
  },

  /** One detector run with ORT in this page; ms. */
  async onnxDirect(): Promise<number> {
    const { model, x, dims, session } = onnxSetup();
    const t0 = performance.now();
    const out = await session.run({ [model.input.name]: new ort.Tensor('float32', x, dims) });
    const ms = performance.now() - t0;
    const y = out[model.outputs[0]!]!;
    onnx!.reference = (y.data as Float32Array).slice();
    for (const t of Object.values(out)) t.dispose();
    return ms;
  },

  /** The same batch as one shard of a mesh job (no replication); ms and max |mesh - direct|. */
  async onnxMesh(): Promise<MeshTimes> {
    const { model, x, dims, reference } = onnxSetup();
    const startAt = now();
    const t0 = performance.now();
    const job = connected().client.runOnnx({
      model: { url: model.url, name: model.id },
      inputs: { [model.input.name]: { dtype: 'float32', dims, data: x } },
      outputs: model.outputs,
      itemsPerShard: dims[0]!,
      verifyFraction: 0,
    });
    let submittedAt = NaN;
    void job.jobId.then(() => (submittedAt = now()), () => {});
    const result = await job.result;
    const ms = performance.now() - t0;
    const resultAt = now();
    await job.cost; // settled before the next run starts
    const y = result[model.outputs[0]!]!.data as Float32Array;
    return { ms, maxAbsDiff: reference ? maxAbsDiff(y, reference) : NaN, startAt, submittedAt, resultAt };
  },

  /** Random n x n matrices and a ComputePool in this page, capped as the contributor is. */
  async setupMatmul(n: number): Promise<void> {
    matmul?.pool.terminate();
    const pool = await ComputePool.create(CAPS);
    matmul = { a: randomFloats(n * n, 1), b: randomFloats(n * n, 2), n, pool, reference: undefined };
  },

  /** One matmul through the page's own ComputePool (inputs copied before the clock starts); ms. */
  async matmulDirect(): Promise<number> {
    const { a, b, n, pool } = matmulSetup();
    const task = {
      a: { name: 'a', dtype: 'float32' as const, dims: [n, n], data: a.slice().buffer },
      b: { name: 'b', dtype: 'float32' as const, dims: [n, n], data: b.slice().buffer },
    };
    const t0 = performance.now();
    const c = await pool.runMatmul(task);
    const ms = performance.now() - t0;
    matmul!.reference = new Float32Array(c.data);
    return ms;
  },

  /** The same matmul as one tile (one shard) of a mesh job, no replication; ms and max |mesh - direct|. */
  async matmulMesh(): Promise<MeshTimes> {
    const { a, b, n, reference } = matmulSetup();
    const startAt = now();
    const t0 = performance.now();
    const job = connected().client.runMatmul({ a, b, m: n, k: n, n, tile: n, verifyFraction: 0 });
    let submittedAt = NaN;
    void job.jobId.then(() => (submittedAt = now()), () => {});
    const c = await job.result;
    const ms = performance.now() - t0;
    const resultAt = now();
    await job.cost;
    return { ms, maxAbsDiff: reference ? maxAbsDiff(c, reference) : NaN, startAt, submittedAt, resultAt };
  },

  /** Releases the session, the pool and the mesh connection. */
  async close(): Promise<void> {
    await onnx?.session.release();
    onnx = undefined;
    matmul?.pool.terminate();
    matmul = undefined;
    await closeMesh();
  },
};

/** What bench/overhead.mjs reaches through `window.benchOverhead`. */
export type OverheadBench = typeof api;

declare global {
  interface Window {
    benchOverhead: OverheadBench;
  }
}

window.benchOverhead = api;
document.body.dataset.ready = 'true';
