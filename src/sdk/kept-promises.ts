/**
 * A few values made asynchronously and kept by key, as the OCR paths keep dictionaries, edited recognisers and
 * page sessions: each made once per key (callers share the pending promise), forgotten when making it fails so
 * the next call tries again, and the oldest dropped past `max` (most recently used last when `touch`).
 */
export class KeptPromises<T> {
  readonly #kept = new Map<string, Promise<T>>();
  readonly #max: number;
  readonly #touch: boolean;
  readonly #dropped: ((value: Promise<T>) => void) | undefined;

  /** `dropped` sees each value evicted past `max` (not those forgotten on failure or by `clear`). */
  constructor(opts: { max: number; touch?: boolean; dropped?: (value: Promise<T>) => void }) {
    this.#max = opts.max;
    this.#touch = opts.touch ?? false;
    this.#dropped = opts.dropped;
  }

  /** The value kept for `key`, else the one `make` starts (and kept). */
  get(key: string, make: () => Promise<T>): Promise<T> {
    let entry = this.#kept.get(key);
    if (entry === undefined) {
      entry = make();
      this.#kept.set(key, entry);
      entry.catch(() => this.#kept.delete(key));
      while (this.#kept.size > this.#max) {
        const [oldest, value] = this.#kept.entries().next().value as [string, Promise<T>];
        this.#kept.delete(oldest);
        this.#dropped?.(value);
      }
    } else if (this.#touch) {
      this.#kept.delete(key);
      this.#kept.set(key, entry);
    }
    return entry;
  }

  /** Forgets every value. */
  clear(): void {
    this.#kept.clear();
  }

  /** Values held or being made. */
  get size(): number {
    return this.#kept.size;
  }
}
