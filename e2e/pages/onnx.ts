// Test harness page for the compute worker's ONNX path: `ep: 'auto'` through a ComputePool (probe, reuse from
// memory, reuse from IndexedDB by a new pool), session reuse, and the probe's full webgpu leg run in this page.
// What the worker decides is observed on its events channel (workers/onnx/events.ts) and in its IndexedDB
// store; outputs are checked against onnxruntime-web called directly in this page.
import * as ort from 'onnxruntime-web/wasm';
import { ComputePool } from '../../src/compute/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import type { OnnxTask } from '../../src/protocol/worker.ts';
import { EpChoices, IdbEpChoiceStore, MemoryEpChoiceStore } from '../../workers/onnx/ep-choice.ts';
import { describeAdapter, type EpChoice, epChoiceKey, type ProbePolicy } from '../../workers/onnx/ep-policy.ts';
import { ONNX_EVENTS_CHANNEL, type OnnxEvent } from '../../workers/onnx/events.ts';
import { runOnnx } from '../../workers/onnx/runner.ts';
import { OnnxSessions } from '../../workers/onnx/sessions.ts';
import { renderTextImages } from './text-images.ts';

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;

const MODEL_URL = '/models/ppocr-det-v4.onnx';
const OUTPUT = 'sigmoid_0.tmp_0';

/** Every event the ONNX side of this origin's workers (and this page) posted since load. */
const events: OnnxEvent[] = [];
new BroadcastChannel(ONNX_EVENTS_CHANNEL).onmessage = (e: MessageEvent<OnnxEvent>) => void events.push(e.data);

let pool: ComputePool | undefined;
let model: { bytes: ArrayBuffer; hash: string } | undefined;
const references = new Map<string, Float32Array>();

async function theModel(): Promise<{ bytes: ArrayBuffer; hash: string }> {
  if (!model) {
    const bytes = await (await fetch(MODEL_URL)).arrayBuffer();
    model = { bytes, hash: await sha256Hex(bytes) };
  }
  return model;
}

/** The detector's output for this shape computed by onnxruntime-web (wasm, 1 thread) in this page. */
async function reference(dims: number[], x: Float32Array): Promise<Float32Array> {
  const key = dims.join('x');
  let y = references.get(key);
  if (!y) {
    const session = await ort.InferenceSession.create(new Uint8Array((await theModel()).bytes), { executionProviders: ['wasm'] });
    const out = await session.run({ x: new ort.Tensor('float32', x, dims) });
    y = out[OUTPUT]!.data as Float32Array;
    await session.release();
    references.set(key, y);
  }
  return y;
}

/** Events posted since index `from`, after waiting (up to `ms`) for one matching `until`, if given. */
async function eventsSince(from: number, until?: (e: OnnxEvent) => boolean, ms = 3000): Promise<OnnxEvent[]> {
  const deadline = performance.now() + ms;
  while (until && !events.slice(from).some(until) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (!until) await new Promise((r) => setTimeout(r, 200)); // let stragglers arrive
  return events.slice(from);
}

function compare(actual: Float32Array, expected: Float32Array): { maxAbsDiff: number; outMin: number; outMax: number } {
  let maxAbsDiff = actual.length === expected.length ? 0 : Infinity;
  let outMin = Infinity;
  let outMax = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(actual[i]! - expected[i]!));
    outMin = Math.min(outMin, actual[i]!);
    outMax = Math.max(outMax, actual[i]!);
  }
  return { maxAbsDiff, outMin, outMax };
}

/** What one run reports. */
export interface RunReport {
  ms: number;
  dims: number[];
  maxAbsDiff: number;
  outMin: number;
  outMax: number;
  events: OnnxEvent[];
}

const checks = {
  /** A fresh pool (the previous one, if any, is terminated: its workers and their memory go). */
  async createPool(): Promise<{ crossOriginIsolated: boolean }> {
    pool?.terminate();
    pool = await ComputePool.create({ backgroundTuning: false });
    return { crossOriginIsolated };
  },

  /** The detector's model hash. */
  async modelHash(): Promise<string> {
    return (await theModel()).hash;
  },

  /** One detector task through the pool; `ep` undefined leaves it out of the task (the default, 'auto'). */
  async run(opts: { batch: number; height: number; width: number; ep?: OnnxTask['ep']; sendModel: boolean }): Promise<RunReport> {
    if (!pool) throw new Error('Cannot run as no pool was created: call createPool() first');
    const { bytes, hash } = await theModel();
    const dims = [opts.batch, 3, opts.height, opts.width];
    const x = renderTextImages(opts.batch, opts.height, opts.width);
    const expected = await reference(dims, x);
    const task: OnnxTask = {
      modelHash: hash,
      ...(opts.sendModel ? { model: bytes.slice(0) } : {}),
      inputs: [{ name: 'x', dtype: 'float32', dims, data: x.slice().buffer }],
      outputNames: [OUTPUT],
      ...(opts.ep === undefined ? {} : { ep: opts.ep }),
    };
    const from = events.length;
    const t0 = performance.now();
    const [y] = await pool.runOnnx(task);
    const ms = performance.now() - t0;
    const auto = opts.ep === undefined || opts.ep === 'auto';
    const seen = await eventsSince(from, auto ? (e) => e.type === 'ep-chosen' && e.choice.modelHash === hash : undefined);
    return { ms, dims: y!.dims, ...compare(new Float32Array(y!.data), expected), events: seen.filter((e) => eventModel(e) === hash) };
  },

  /** The choices the worker stored in IndexedDB for the detector. */
  async storedChoices(): Promise<EpChoice[]> {
    const { hash } = await theModel();
    return (await new IdbEpChoiceStore().list()).filter((c) => c.modelHash === hash);
  },

  /**
   * The probe with its webgpu leg forced on (also on a fallback adapter such as SwiftShader), run by an
   * OnnxSessions in this page with in-memory choices: what a contributor with a real GPU goes through.
   */
  async probeInPage(opts: { batch: number; height: number; width: number; policy: Partial<ProbePolicy> }): Promise<{ choice: EpChoice | undefined; ms: number; maxAbsDiff: number; sessionEps: string[] }> {
    const { bytes, hash } = await theModel();
    const sessions = new OnnxSessions({ threads: 1 }, { choices: new EpChoices(new MemoryEpChoiceStore()), probePolicy: opts.policy });
    const dims = [opts.batch, 3, opts.height, opts.width];
    const x = renderTextImages(opts.batch, opts.height, opts.width);
    const expected = await reference(dims, x);
    const from = events.length;
    const t0 = performance.now();
    const [y] = await runOnnx(sessions, {
      modelHash: hash,
      model: bytes.slice(0),
      inputs: [{ name: 'x', dtype: 'float32', dims, data: x.slice().buffer }],
      outputNames: [OUTPUT],
    });
    const ms = performance.now() - t0;
    const key = epChoiceKey({ modelHash: hash, adapter: describeAdapter(await sessions.adapter()), threads: sessions.config.threads });
    const choice = (await sessions.choices.lookup(key))?.choice;
    const seen = await eventsSince(from);
    const sessionEps = seen.flatMap((e) => (e.type === 'session-created' && e.modelHash === hash ? [e.ep] : []));
    return { choice, ms, maxAbsDiff: compare(new Float32Array(y!.data), expected).maxAbsDiff, sessionEps };
  },
};

function eventModel(e: OnnxEvent): string {
  return e.type === 'ep-chosen' ? e.choice.modelHash : e.modelHash;
}

/** What specs reach through `window.onnxTest`. */
export type OnnxChecks = typeof checks;

declare global {
  interface Window {
    onnxTest: OnnxChecks;
  }
}

window.onnxTest = checks;
document.body.dataset.ready = 'true';
