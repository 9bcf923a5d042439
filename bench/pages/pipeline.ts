// Benchmark harness for pipeline parallelism: a page is either a contributor (capped to a duty cycle) or the
// client that runs the PP-OCRv4 recogniser over a batch of rendered text lines, either split into stages (one
// stage job per stage, activations peer to peer) or whole as a data-parallel ONNX job with as many items per
// shard as the pipeline's micro-batch, with stages split by weight bytes or by measured time. The model is split once at setup (outside the timed region, and timed on
// its own); the timed region is what a caller waits for (submit to result).
import * as sdk from '../../src/sdk/index.ts';
import { catalogModel, type ModelEntry } from './page-catalog.ts';
import { closeMesh, connected, connectMesh } from './page-mesh.ts';
import * as ort from 'onnxruntime-web';
import { renderTextImages } from '../../e2e/pages/text-images.ts';

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;

/** One timed run. */
export interface PipelineRunResult {
  ms: number;
  /** Contributors that settled work, per stage (one entry for a whole-model job). */
  contributors: number[];
  /** Max abs difference against the first whole-model result of the same batch (the pipeline must equal it). */
  maxAbs: number;
}

/** The two splits the bench compares. */
export type Split = 'bytes' | 'time';

/** What setup() reports of one split; `splitterMs` and `fineMs`: what the time split measured while splitting. */
export interface SplitInfo {
  splitMs: number;
  stageBytes: number[];
  weightBytes: number[];
  cuts: string[][];
  stageMs: number[];
  splitterMs?: number[];
  fineMs?: number[];
}

let job: { model: ModelEntry; x: Float32Array; dims: number[]; stages: Record<Split, sdk.PipelineStage[]> } | undefined;
let reference: Float32Array | undefined;
/** Pool ms of the shards this contributor finished since the last `takeBusy()`, and their count. */
let busy = { ms: 0, shards: 0 };

function setUp(): NonNullable<typeof job> {
  if (!job) throw new Error('Cannot run the job as it was not set up: call setup() first');
  return job;
}

function compare(y: Float32Array): number {
  if (!reference) {
    reference = y.slice();
    return 0;
  }
  if (y.length !== reference.length) return Infinity;
  let max = 0;
  for (let i = 0; i < y.length; i++) max = Math.max(max, Math.abs(y[i]! - reference[i]!));
  return max;
}

const api = {
  /** Connects this page to the coordinator serving it; returns the peer id. */
  async connect(): Promise<string> {
    return connectMesh();
  },

  /** Starts contributing at the same cap for CPU and GPU, one lease computing at a time and `prefetch` more taken. */
  async contribute(cap: number, prefetch = 0): Promise<void> {
    const c = connected().contributor;
    c.addEventListener('shard', (e) => {
      const d = (e as CustomEvent<sdk.ShardEventDetail>).detail;
      if (d.phase === 'done' && d.ms !== undefined) busy = { ms: busy.ms + d.ms, shards: busy.shards + 1 };
    });
    await c.start({ cpuCap: cap, gpuCap: cap, maxConcurrent: 1, prefetch, backgroundTuning: false });
  },

  /** Pool ms (compute, at the cap) and shards finished since the last call. */
  takeBusy(): { ms: number; shards: number } {
    const out = busy;
    busy = { ms: 0, shards: 0 };
    return out;
  },

  /** Stops taking leases (the pool and its ORT sessions stay warm). */
  pause: () => connected().contributor.pause(),
  /** Takes leases again. */
  resume: () => connected().contributor.resume(),

  /** Shards this contributor ran. */
  shardsRun: () => connected().contributor.stats.shardsRun,

  /**
   * Renders `batch` text lines 48 x `width` and splits the recogniser into `stages` stages twice: by weight bytes,
   * and by time measured in this page on one line (`balance: 'time'`). Both splits' stages are then timed alone.
   */
  async setup(batch: number, width: number, stages: number): Promise<Record<Split, SplitInfo> & { wholeMs: number }> {
    const model = await catalogModel('ppocr-rec-v4', 'set up the recogniser');
    const bytes = new Uint8Array(await (await fetch(model.url)).arrayBuffer());
    const one = renderTextImages(1, 48, width);
    let t0 = performance.now();
    const byBytes = await sdk.splitModel(bytes, { stages });
    const bytesSplitMs = performance.now() - t0;
    t0 = performance.now();
    const byTime = await sdk.splitModel(bytes, { stages, balance: 'time', sample: { [model.input.name]: { dtype: 'float32', dims: [1, 3, 48, width], data: one } }, base: location.origin });
    const timeSplitMs = performance.now() - t0;
    const planned = (plan: sdk.StagePlan, tag: string): sdk.PipelineStage[] => plan.stages.map((s, i) => ({
      model: { bytes: s.model, name: `${model.id} stage ${i + 1}/${stages} by ${tag}` },
      inputs: s.inputs.map((t) => ({ name: t.name, dtype: t.type as 'float32' })),
      outputs: i === plan.stages.length - 1 ? model.outputs : s.outputs.map((o) => o.name),
    }));
    // Each stage's compute alone, and the whole model's (ORT wasm in this page, one item, median of 5 after a
    // warm-up, stages of both splits and the whole model interleaved): a pipeline's ceiling is whole / slowest stage.
    const timeModel = async (m: Uint8Array, f: Record<string, ort.Tensor>) => {
      const session = await ort.InferenceSession.create(m, { executionProviders: ['wasm'] });
      const out = await session.run(f);
      return { session, out };
    };
    const input = { [model.input.name]: new ort.Tensor('float32', one, [1, 3, 48, width]) };
    const chain = async (plan: sdk.StagePlan) => {
      let feeds: Record<string, ort.Tensor> = input;
      const runs = [];
      for (const s of plan.stages) {
        const f = Object.fromEntries(s.inputs.map((i) => [i.name, feeds[i.name]!]));
        const r = await timeModel(s.model, f);
        runs.push({ session: r.session, feeds: f });
        feeds = { ...feeds, ...r.out };
      }
      return runs;
    };
    const all = [{ ...(await timeModel(bytes, input)), feeds: input }, ...(await chain(byBytes)), ...(await chain(byTime))];
    const times = all.map((): number[] => []);
    for (let r = 0; r < 5; r++) {
      for (const [i, { session, feeds }] of all.entries()) {
        const t = performance.now();
        await session.run(feeds);
        times[i]!.push(performance.now() - t);
      }
    }
    await Promise.all(all.map((a) => a.session.release()));
    const med = times.map((ts) => ts.sort((a, b) => a - b)[2]!);
    const info = (plan: sdk.StagePlan, splitMs: number, stageMs: number[]): SplitInfo => ({
      splitMs,
      stageBytes: plan.stages.map((s) => s.model.byteLength),
      weightBytes: plan.stages.map((s) => s.weightBytes),
      cuts: plan.stages.map((s) => s.outputs.map((o) => o.name)),
      stageMs,
    });
    job = { model, x: renderTextImages(batch, 48, width), dims: [batch, 3, 48, width], stages: { bytes: planned(byBytes, 'bytes'), time: planned(byTime, 'time') } };
    reference = undefined;
    return {
      wholeMs: med[0]!,
      bytes: info(byBytes, bytesSplitMs, med.slice(1, 1 + stages)),
      time: { ...info(byTime, timeSplitMs, med.slice(1 + stages)), splitterMs: byTime.timing.stageMs, fineMs: byTime.timing.fineMs },
    };
  },

  /** The whole model as one data-parallel job, `microBatch` items per shard. */
  async runWhole(microBatch: number): Promise<PipelineRunResult> {
    const { model, x, dims } = setUp();
    const t0 = performance.now();
    const handle = connected().client.runOnnx({
      model: { url: model.url, name: model.id },
      inputs: { [model.input.name]: { dtype: 'float32', dims, data: x } },
      outputs: model.outputs,
      itemsPerShard: microBatch,
      verifyFraction: 0,
    });
    const who = new Set<string>();
    handle.addEventListener('progress', (e) => {
      const c = (e as CustomEvent<sdk.JobProgress>).detail.contributor;
      if (c) who.add(c);
    });
    const out = await handle.result;
    const ms = performance.now() - t0;
    await handle.cost; // settled before the next run starts
    return { ms, contributors: [who.size], maxAbs: compare(out[model.outputs[0]!]!.data as Float32Array) };
  },

  /** The model's stages (split by weight bytes or by time) as a pipeline, `microBatch` items per micro-batch. */
  async runPipeline(microBatch: number, split: Split = 'bytes'): Promise<PipelineRunResult> {
    const { model, x, dims } = setUp();
    const stages = setUp().stages[split];
    const t0 = performance.now();
    const handle = connected().client.runPipeline({
      stages,
      inputs: { [model.input.name]: { dtype: 'float32', dims, data: x } },
      outputs: model.outputs,
      microBatch,
      verifyFraction: 0,
    });
    const who = stages.map(() => new Set<string>());
    handle.addEventListener('progress', (e) => {
      const d = (e as CustomEvent<sdk.PipelineProgress>).detail;
      if (d.contributor && d.state === 'settled') who[d.stage]!.add(d.contributor);
    });
    const out = await handle.result;
    const ms = performance.now() - t0;
    await handle.cost;
    return { ms, contributors: who.map((s) => s.size), maxAbs: compare(out[model.outputs[0]!]!.data as Float32Array) };
  },

  /** Closes the mesh connection. */
  async close(): Promise<void> {
    await closeMesh();
  },
};

/** What bench/pipeline.mjs reaches through `window.benchPipeline`. */
export type PipelineBench = typeof api;

declare global {
  interface Window {
    benchPipeline: PipelineBench;
  }
}

window.benchPipeline = api;
document.body.dataset.ready = 'true';
