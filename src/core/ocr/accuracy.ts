/** Character accuracy of OCR output: 1 - Levenshtein distance / reference length, over code points. */

/** Edit distance (insertions, deletions, substitutions) between two strings, by code point. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length]!;
}

/** 1 - editDistance(reference, read) / reference length, floored at 0; 1 for two empty strings. */
export function characterAccuracy(reference: string, read: string): number {
  const len = [...reference].length;
  if (len === 0) return read.length === 0 ? 1 : 0;
  return Math.max(0, 1 - editDistance(reference, read) / len);
}
