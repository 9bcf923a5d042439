/**
 * The primary-run ranking of one matching round (matcher.ts), kept as a max-heap so a round of R runs over C
 * contributors costs O(C + R log C) rather than O(R x C). Sound because within a round a contributor's score
 * only falls (its load only rises): entries hold the score at insertion, an upper bound, and the top is
 * rescored before it is trusted (lazy deletion).
 */
import type { MatchContributor, MatchRun } from './matcher.ts';

/** A contributor and the score it had when queued, with the load that score saw. */
interface Entry {
  c: MatchContributor;
  score: number;
  load: number;
}

/** Ranks eligible contributors for the primary runs of one kind (one job, or one shard of a WGSL job). */
export class Ranking {
  readonly #heap: Entry[] = [];

  /**
   * `eligible`: contributors able to take this kind of run; `loadOf` their load now (it rises during the round);
   * `scoreOf` a contributor's score at a given load.
   */
  constructor(
    readonly template: MatchRun,
    eligible: readonly MatchContributor[],
    readonly loadOf: (c: MatchContributor) => number,
    readonly scoreOf: (c: MatchContributor, load: number) => number,
  ) {
    for (const c of eligible) {
      const load = loadOf(c);
      if (load < c.maxConcurrent) this.#heap.push({ c, score: scoreOf(c, load), load });
    }
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** The best contributor that `fits` (free, not excluded), or undefined; it stays ranked (rescored lazily). */
  best(fits: (c: MatchContributor) => boolean): MatchContributor | undefined {
    const aside: Entry[] = [];
    let found: MatchContributor | undefined;
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      const load = this.loadOf(top.c);
      if (load >= top.c.maxConcurrent) {
        this.#pop();
        continue;
      }
      if (load !== top.load) {
        this.#pop();
        this.#push({ c: top.c, score: this.scoreOf(top.c, load), load });
        continue;
      }
      if (fits(top.c)) {
        found = top.c;
        break;
      }
      aside.push(this.#pop());
    }
    for (const e of aside) this.#push(e);
    return found;
  }

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): Entry {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.#down(0);
    }
    return top;
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/** Higher score first; equal scores by lower ask, lower load, then peer id (the matcher's tie-break). */
function before(a: Entry, b: Entry): boolean {
  if (a.score !== b.score) return a.score > b.score;
  return (a.c.askPrice - b.c.askPrice || a.load - b.load || (a.c.peerId < b.c.peerId ? -1 : a.c.peerId > b.c.peerId ? 1 : 0)) < 0;
}
