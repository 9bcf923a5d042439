/**
 * Reading the recogniser's output: the class list from PaddleOCR's dictionary file and CTC greedy decoding.
 * Classes are the blank at 0, the file's entries one per line, and a space last (use_space_char), so
 * ppocr_keys_v1.txt's 6,623 entries give 6,625 classes. Decoding takes the most likely class at each time step,
 * drops repeats of the previous step's class and then blanks, and folds the text with NFKC (the dictionary's
 * full-width punctuation becomes ASCII). A line's confidence is the mean of the kept characters' probabilities.
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
 * NaN probabilities never win a step.
 */
export function ctcGreedy(probs: ArrayLike<number>, offset: number, steps: number, classes: readonly string[]): CtcLine {
  const n = classes.length;
  if (offset < 0 || probs.length < offset + steps * n) {
    throw new RangeError(`Cannot decode as ${steps} steps of ${n} classes need ${steps * n} values from ${offset}: current length is ${probs.length}`);
  }
  let text = '';
  let sum = 0;
  let kept = 0;
  let prev = -1;
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
    if (best !== 0 && best !== prev) {
      text += classes[best];
      sum += bestP;
      kept++;
    }
    prev = best;
  }
  return { text: text.normalize('NFKC'), confidence: kept === 0 ? 0 : sum / kept };
}
