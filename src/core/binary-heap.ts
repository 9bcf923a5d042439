/** A binary min-heap by `before` (the element that must come out first is `before` the others). */
export class BinaryHeap<T> {
  readonly #h: T[];

  /** Builds the heap from `items` in linear time. */
  constructor(readonly before: (a: T, b: T) => boolean, items: T[] = []) {
    this.#h = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  get size(): number {
    return this.#h.length;
  }

  /** The first element, left in place. */
  peek(): T | undefined {
    return this.#h[0];
  }

  push(item: T): void {
    const h = this.#h;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Removes and returns the first element. */
  pop(): T | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      this.#down(0);
    }
    return top;
  }

  #down(i: number): void {
    const h = this.#h;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
