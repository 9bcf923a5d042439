/**
 * Where the OCR models live and the recogniser's class list. The defaults are the PP-OCRv4 files the
 * coordinator serves under /models/ (scripts/vite-mesh-assets.ts); a page may name others of the same family.
 * Dictionaries are fetched once per URL and kept (a few, small), bounded in size as any download from elsewhere.
 */
import { parseDictionary } from '../core/ocr/index.ts';
import { KeptPromises } from './kept-promises.ts';
import type { OcrModels } from './types.ts';

/** The PP-OCRv4 files of the coordinator's model catalog. */
export const DEFAULT_OCR_MODELS: Required<OcrModels> = {
  detector: '/models/ppocr-det-v4.onnx',
  recogniser: '/models/ppocr-rec-v4.onnx',
  dictionary: '/models/ppocr-keys-v1.txt',
};
/** Input name of the PP-OCR models. */
export const OCR_INPUT = 'x';
/** Output of the PP-OCR detector: the text probability map, f32[N,1,H,W]. */
export const DET_OUTPUT = 'sigmoid_0.tmp_0';
/** Output of the PP-OCRv4 recogniser: class probabilities per time step, f32[N,W/8,classes]. */
export const REC_OUTPUT = 'softmax_11.tmp_0';
/** Largest dictionary file accepted: 4 MiB. */
export const MAX_DICTIONARY_BYTES = 4 * 1024 * 1024;
/** Dictionaries kept per cache. */
const KEPT = 4;

/** The model URLs with defaults filled in, resolved by `resolve` (e.g. against the coordinator). */
export function ocrModelUrls(models: OcrModels | undefined, resolve: (url: string) => string): Required<OcrModels> {
  return {
    detector: resolve(models?.detector ?? DEFAULT_OCR_MODELS.detector),
    recogniser: resolve(models?.recogniser ?? DEFAULT_OCR_MODELS.recogniser),
    dictionary: resolve(models?.dictionary ?? DEFAULT_OCR_MODELS.dictionary),
  };
}

/** Class lists by dictionary URL; a failed fetch is forgotten so the next call tries again. */
export class DictionaryCache {
  readonly #fetch: typeof fetch;
  readonly #kept = new KeptPromises<string[]>({ max: KEPT });

  constructor(fetcher: typeof fetch = (input, init) => globalThis.fetch(input, init)) {
    this.#fetch = fetcher;
  }

  /** The classes of the dictionary at `url` (blank first, space last). */
  classes(url: string): Promise<string[]> {
    return this.#kept.get(url, () => this.#load(url));
  }

  async #load(url: string): Promise<string[]> {
    const res = await this.#fetch(url);
    if (!res.ok) throw new TypeError(`Cannot fetch the OCR dictionary at ${url}: current status is ${res.status}`);
    const bytes = await res.arrayBuffer();
    if (bytes.byteLength > MAX_DICTIONARY_BYTES) {
      throw new RangeError(`Cannot use the OCR dictionary at ${url} as it must be at most ${MAX_DICTIONARY_BYTES} bytes: current size is ${bytes.byteLength}`);
    }
    return parseDictionary(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  }
}
