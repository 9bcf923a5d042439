/**
 * The primary-run ranking of one matching round (matcher.ts), kept as a max-heap so a round of R runs over C
 * contributors costs O(C + R log C) rather than O(R x C). Sound because within a round a contributor's score
 * only falls (its load only rises): entries hold the score at insertion, an upper bound, and the top is
 * rescored before it is trusted (lazy deletion).
 */
import type { MatchContributor, MatchRun } from './matcher.ts';
import { BinaryHeap } from './binary-heap.ts';

/** A contributor and the score it had when queued, with the load that score saw. */
interface Entry {
  c: MatchContributor;
  score: number;
  load: number;
}

/** Ranks eligible contributors for the primary runs of one kind (one job, or one shard of a WGSL job). */
export class Ranking {
  readonly #heap: BinaryHeap<Entry>;

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
    const entries: Entry[] = [];
    for (const c of eligible) {
      const load = loadOf(c);
      if (load < c.maxConcurrent) entries.push({ c, score: scoreOf(c, load), load });
    }
    this.#heap = new BinaryHeap(before, entries);
  }

  /** The best contributor that `fits` (free, not excluded), or undefined; it stays ranked (rescored lazily). */
  best(fits: (c: MatchContributor) => boolean): MatchContributor | undefined {
    const aside: Entry[] = [];
    let found: MatchContributor | undefined;
    while (this.#heap.size > 0) {
      const top = this.#heap.peek()!;
      const load = this.loadOf(top.c);
      if (load >= top.c.maxConcurrent) {
        this.#heap.pop();
        continue;
      }
      if (load !== top.load) {
        this.#heap.pop();
        this.#heap.push({ c: top.c, score: this.scoreOf(top.c, load), load });
        continue;
      }
      if (fits(top.c)) {
        found = top.c;
        break;
      }
      aside.push(this.#heap.pop()!);
    }
    for (const e of aside) this.#heap.push(e);
    return found;
  }
}

/** Higher score first; equal scores by lower ask, lower load, then peer id (the matcher's tie-break). */
function before(a: Entry, b: Entry): boolean {
  if (a.score !== b.score) return a.score > b.score;
  return (a.c.askPrice - b.c.askPrice || a.load - b.load || (a.c.peerId < b.c.peerId ? -1 : a.c.peerId > b.c.peerId ? 1 : 0)) < 0;
}
