/**
 * Model bytes and their SHA-256 by URL, kept for the session so that a page running the same model again
 * neither downloads nor hashes it again. Every reuse is revalidated with a HEAD request (one small round
 * trip): the entry serves only while the server still reports the same validator (ETag, else Last-Modified)
 * and length; otherwise, or when the server offers no validator (e.g. a cross-origin URL that does not
 * expose ETag), the model is fetched and hashed afresh, so a model replaced at its URL is never sent stale.
 */
import { sha256Hex } from '../core/hash.ts';

/** A model's bytes and the lower-case hex SHA-256 they hash to. */
export interface LoadedModel {
  bytes: ArrayBuffer;
  hash: string;
}

/** Default bytes of models kept in memory: 512 MiB. */
export const DEFAULT_MODEL_MEMORY_BYTES = 512 * 1024 * 1024;

interface Entry extends LoadedModel {
  /** `etag:<value>` or `last-modified:<value>`; undefined when the server gave neither. */
  validator: string | undefined;
}

interface Slot {
  promise: Promise<Entry>;
  settled: boolean;
  entry: Entry | undefined;
}

/** The session's models by URL, least recently used first. */
export class ModelSource {
  readonly budget: number;
  readonly #fetch: typeof fetch;
  readonly #entries = new Map<string, Slot>();
  readonly #sizes = new Map<string, number>();

  constructor(opts: { budget?: number; fetch?: typeof fetch } = {}) {
    const budget = opts.budget ?? DEFAULT_MODEL_MEMORY_BYTES;
    if (!Number.isSafeInteger(budget) || budget < 0) {
      throw new RangeError(`Cannot keep models as 'budget' must be a non-negative integer: current value is ${budget}`);
    }
    this.budget = budget;
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Bytes held by kept models. */
  get size(): number {
    let n = 0;
    for (const s of this.#sizes.values()) n += s;
    return n;
  }

  /**
   * The model at `url` and its hash: the kept copy while the server still reports the same validator, else
   * freshly fetched and hashed. Calls for one URL while a fetch runs share it. The bytes are shared between
   * callers: read them, never transfer or change them.
   */
  load(url: string): Promise<LoadedModel> {
    const held = this.#entries.get(url);
    let next: Promise<Entry>;
    if (held && !held.settled) next = held.promise;
    else next = held?.entry ? this.#revalidate(url, held.entry) : this.#download(url);
    if (next !== held?.promise) {
      const slot: Slot = { promise: next, settled: false, entry: undefined };
      this.#entries.delete(url); // re-inserted last: the map's order is the LRU order
      this.#entries.set(url, slot);
      next.then((e) => this.#keep(url, slot, e), () => this.#forget(url, slot));
    }
    return next.then(({ bytes, hash }) => ({ bytes, hash }));
  }

  /** Forgets every kept model. */
  clear(): void {
    this.#entries.clear();
    this.#sizes.clear();
  }

  async #revalidate(url: string, entry: Entry): Promise<Entry> {
    if (entry.validator === undefined) return this.#download(url);
    let res: Response;
    try {
      res = await this.#fetch(url, { method: 'HEAD', cache: 'no-store' });
    } catch {
      return this.#download(url); // the GET reports the failure in the caller's terms
    }
    const length = res.headers.get('content-length');
    const same = res.ok && validatorOf(res) === entry.validator && (length === null || Number(length) === entry.bytes.byteLength);
    return same ? entry : this.#download(url);
  }

  async #download(url: string): Promise<Entry> {
    const res = await this.#fetch(url);
    if (!res.ok) throw new TypeError(`Cannot fetch the model at ${url}: current status is ${res.status}`);
    const validator = validatorOf(res);
    const bytes = await res.arrayBuffer();
    return { bytes, hash: await sha256Hex(bytes), validator };
  }

  #keep(url: string, slot: Slot, entry: Entry): void {
    if (this.#entries.get(url) !== slot) return; // a newer load replaced it
    if (entry.validator === undefined || entry.bytes.byteLength > this.budget) {
      this.#forget(url, slot); // nothing to revalidate against, or too large to keep
      return;
    }
    slot.settled = true;
    slot.entry = entry;
    this.#sizes.set(url, entry.bytes.byteLength);
    for (const other of this.#entries.keys()) {
      if (this.size <= this.budget) break;
      if (other === url) continue;
      this.#entries.delete(other);
      this.#sizes.delete(other);
    }
  }

  #forget(url: string, slot: Slot): void {
    if (this.#entries.get(url) !== slot) return;
    this.#entries.delete(url);
    this.#sizes.delete(url);
  }
}

function validatorOf(res: Response): string | undefined {
  const etag = res.headers.get('etag');
  if (etag) return `etag:${etag}`;
  const modified = res.headers.get('last-modified');
  return modified ? `last-modified:${modified}` : undefined;
}
