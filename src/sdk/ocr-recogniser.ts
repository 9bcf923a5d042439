/**
 * The recogniser as OCR runs it, on the mesh and in the page alike: the catalog's model with an ArgMax and a
 * ReduceMax appended to its probability output (src/model/argmax-head.ts), so a run returns the best path,
 * int64 class indices [N, T] and their probabilities [N, T], about 12 bytes per time step instead of the
 * 26.5 KB of the 6,625-class table. Greedy CTC decoding reads nothing else (core/ocr ctcBestPath), so the text
 * and confidence are those of the full table. The edited model is a model of its own, with its own SHA-256,
 * which contributors check as for any model.
 *
 * Edits are kept per source model hash (a few, for the session), so a call reusing the recogniser neither
 * decodes, edits nor hashes it again; the src/model chunk (protobuf) loads on first use.
 */
import { sha256Hex } from '../core/hash.ts';
import { KeptPromises } from './kept-promises.ts';
import type { LoadedModel } from './model-source.ts';

/** The edited recogniser: its bytes and hash, and its two outputs. */
export interface BestPathModel extends LoadedModel {
  /** int64 [N, T]: the class chosen at each step. */
  indices: string;
  /** float32 [N, T]: that class's probability. */
  probs: string;
}

/** Edited recognisers kept per cache. */
const KEPT = 2;

/** Edited recognisers by the hash of the model they were made from. */
export class BestPathCache {
  readonly #kept = new KeptPromises<BestPathModel>({ max: KEPT, touch: true });

  /** The edited model for `source` (bytes are read, not changed). */
  get(source: LoadedModel): Promise<BestPathModel> {
    return this.#kept.get(source.hash, () => bestPathModel(source.bytes));
  }

  /** Forgets every edit. */
  clear(): void {
    this.#kept.clear();
  }

  /** Edits held or being made. */
  get size(): number {
    return this.#kept.size;
  }
}

/** Edits recogniser bytes: its only output, a probability table, becomes the best path along its last axis. */
export async function bestPathModel(bytes: ArrayBuffer): Promise<BestPathModel> {
  const { appendArgMax } = await import('../model/index.ts');
  const head = appendArgMax(new Uint8Array(bytes));
  const edited = head.model.buffer;
  return { bytes: edited, hash: await sha256Hex(edited), indices: head.indices, probs: head.values };
}
