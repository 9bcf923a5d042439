/**
 * `ocrLocal`: the same OCR pipeline as `client.ocr`, with both models run by onnxruntime-web (WASM) in this page:
 * the reference the mesh's answers are compared with, and a way to read text with no mesh at all. The runtime is
 * loaded when first used (ort-runtime.ts).
 * Sessions are kept per model URL for the page's life (at most MAX_LOCAL_SESSIONS). The recogniser runs edited
 * to return its best path (ocr-recogniser.ts), the very model `client.ocr` sends to contributors, so both paths
 * decode the same tensors.
 */
import type * as Ort from 'onnxruntime-web';
import { MeshError } from '../protocol/errors.ts';
import { defaultCoordinator, resolveModelUrl } from './default-coordinator.ts';
import { KeptPromises } from './kept-promises.ts';
import { snapshot, toRgba } from './ocr-images.ts';
import { DictionaryCache, ocrModelUrls } from './ocr-models.ts';
import { runOcrPipeline } from './ocr-pipeline.ts';
import { bestPathModel } from './ocr-recogniser.ts';
import { loadRuntime, type OrtModule } from './ort-runtime.ts';
import type { OcrImage, OcrLocalOptions, OcrResult } from './types.ts';

/** Sessions kept in the page. */
const MAX_LOCAL_SESSIONS = 4;

/** A session and, for the recogniser, the names of its best-path outputs. */
interface LocalModel {
  session: Ort.InferenceSession;
  bestPath?: { indices: string; probs: string };
}
const sessions = new KeptPromises<LocalModel>({
  max: MAX_LOCAL_SESSIONS,
  dropped: (entry) => void entry.then((s) => s.session.release(), () => undefined),
});
const dictionaries = new DictionaryCache();

/** Reads the text in images with onnxruntime-web in this page; the result is what `client.ocr` would return. */
export async function ocrLocal(images: readonly OcrImage[], opts: OcrLocalOptions = {}): Promise<OcrResult[]> {
  if (!Array.isArray(images)) throw new TypeError(`Cannot read images as they must be an array: current value is ${typeof images}`);
  const copies = images.map(snapshot);
  const base = opts.base ?? defaultCoordinator(import.meta.url, globalThis.location?.origin);
  const urls = ocrModelUrls(opts.models, (url) => resolveModelUrl(url, base));
  const ort = await loadRuntime(base, opts.threads ?? 1);
  const rgba = await Promise.all(copies.map(toRgba));
  const classes = await dictionaries.classes(urls.dictionary);
  return runOcrPipeline(rgba, classes, async ({ stage, input, dims }) => {
    const { session, bestPath } = await loadSession(ort, stage === 'detect' ? urls.detector : urls.recogniser, stage === 'recognise');
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) };
    const results = await session.run(feeds);
    const release = (...kept: unknown[]) => {
      for (const t of Object.values(results)) if (!kept.includes(t)) t.dispose();
    };
    if (bestPath) {
      const indices = results[bestPath.indices];
      const probs = results[bestPath.probs];
      if (indices?.type !== 'int64' || probs?.type !== 'float32') {
        throw new MeshError('onnx-failed', `Cannot read the OCR recogniser's best path as it must be int64 and float32: current types are ${indices?.type} and ${probs?.type}`);
      }
      release(indices, probs);
      return { indices: indices.data as BigInt64Array, probs: probs.data as Float32Array, dims: indices.dims };
    }
    const out = results[session.outputNames[0]!];
    if (out === undefined || out.type !== 'float32') throw new MeshError('onnx-failed', `Cannot read the OCR ${stage} output as it is not float32: current type is ${out?.type}`);
    release(out);
    return { data: out.data as Float32Array, dims: out.dims };
  }, opts);
}

/** The session for the model at `url`; `bestPath`: edited to return its best path (the recogniser). */
function loadSession(ort: OrtModule, url: string, bestPath: boolean): Promise<LocalModel> {
  const key = `${bestPath ? 'best-path ' : ''}${url}`;
  return sessions.get(key, async (): Promise<LocalModel> => {
    const res = await fetch(url);
    if (!res.ok) throw new TypeError(`Cannot fetch the model at ${url}: current status is ${res.status}`);
    const bytes = await res.arrayBuffer();
    const edited = bestPath ? await bestPathModel(bytes) : undefined;
    const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' } as const;
    const created = await ort.InferenceSession.create(new Uint8Array(edited?.bytes ?? bytes), options);
    return edited ? { session: created, bestPath: { indices: edited.indices, probs: edited.probs } } : { session: created };
  });
}
