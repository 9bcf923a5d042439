/**
 * Reading the recogniser's output: the class list from PaddleOCR's dictionary file and CTC greedy decoding.
 * Classes are the blank at 0, the file's entries one per line, and a space last (use_space_char), so
 * ppocr_keys_v1.txt's 6,623 entries give 6,625 classes. Decoding takes the most likely class at each time step,
 * drops repeats of the previous step's class and then blanks, and folds the text with NFKC (the dictionary's
 * full-width punctuation becomes ASCII). A line's confidence is the mean of the kept characters' probabilities.
 * Decoding reads either the full probability table or the best path alone (indices and their probabilities).
 */

/** Most entries a dictionary may have. */
export const MAX_DICTIONARY_ENTRIES = 100_000;

/** The class list of a dictionary file: '' (blank) first, the entries, ' ' last. */
export function parseDictionary(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`Cannot read the dictionary as it must be text: current value is ${typeof text}`);
  const entries = text.split(/\r?\n/);
  if (entries.at(-1) === '') entries.pop(); // a final newline ends the last entry
  if (entries.length === 0 || entries.length > MAX_DICTIONARY_ENTRIES) {
    throw new RangeError(`Cannot read the dictionary as it must have 1..${MAX_DICTIONARY_ENTRIES} entries: current count is ${entries.length}`);
  }
  return ['', ...entries, ' '];
}

/** One decoded line. */
export interface CtcLine {
  text: string;
  /** Mean probability of the kept characters; 0 when none was kept. */
  confidence: number;
}

/**
 * Greedy CTC decode of one item: `steps` rows of `classes.length` probabilities from `offset` in `probs`.
 * NaN probabilities never win a step; on a tie the lowest class wins (as ONNX ArgMax).
 */
export function ctcGreedy(probs: ArrayLike<number>, offset: number, steps: number, classes: readonly string[]): CtcLine {
  const n = classes.length;
  if (offset < 0 || probs.length < offset + steps * n) {
    throw new RangeError(`Cannot decode as ${steps} steps of ${n} classes need ${steps * n} values from ${offset}: current length is ${probs.length}`);
  }
  const line = new LineBuilder(classes);
  for (let t = 0; t < steps; t++) {
    const row = offset + t * n;
    let best = 0;
    let bestP = -Infinity;
    for (let k = 0; k < n; k++) {
      const p = probs[row + k]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    line.step(best, bestP);
  }
  return line.done();
}

/**
 * Greedy CTC decode of one item from its best path: the class chosen at each of `steps` time steps
 * (`indices`, int64 as bigint or numbers) and that class's probability (`probs`), from `offset`. This is what a
 * recogniser edited by appendArgMax (src/model) returns, and decodes to what ctcGreedy gives for the full table.
 * An index that is not a class is a RangeError (the indices may come from an untrusted runner).
 */
export function ctcBestPath(indices: ArrayLike<number | bigint>, probs: ArrayLike<number>, offset: number, steps: number, classes: readonly string[]): CtcLine {
  if (offset < 0 || indices.length < offset + steps || probs.length < offset + steps) {
    throw new RangeError(`Cannot decode as ${steps} steps need ${steps} indices and probabilities from ${offset}: current lengths are ${indices.length} and ${probs.length}`);
  }
  const n = classes.length;
  const line = new LineBuilder(classes);
  for (let t = offset; t < offset + steps; t++) {
    const raw = indices[t]!;
    const k = typeof raw === 'bigint' ? (raw >= 0n && raw < BigInt(n) ? Number(raw) : -1) : raw;
    if (!Number.isInteger(k) || k < 0 || k >= n) {
      throw new RangeError(`Cannot decode step ${t - offset} as its class must be an integer in 0..${n - 1}: current value is ${String(raw)}`);
    }
    line.step(k, probs[t]!);
  }
  return line.done();
}

/** Collapses a best path: repeats of the previous step's class, then blanks, are dropped. */
class LineBuilder {
  readonly #classes: readonly string[];
  #text = '';
  #sum = 0;
  #kept = 0;
  #prev = -1;

  constructor(classes: readonly string[]) {
    this.#classes = classes;
  }

  step(best: number, p: number): void {
    if (best !== 0 && best !== this.#prev) {
      this.#text += this.#classes[best];
      this.#sum += p;
      this.#kept++;
    }
    this.#prev = best;
  }

  done(): CtcLine {
    return { text: this.#text.normalize('NFKC'), confidence: this.#kept === 0 ? 0 : this.#sum / this.#kept };
  }
}
