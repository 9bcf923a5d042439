/**
 * One shared timer for every per-connection deadline (header, keep-alive, write stall, ping, close).
 * A Deno setTimeout costs a few KB of heap while pending, and each connection would hold one or two for its
 * whole life, more than the connection itself. Deadlines live in an indexed binary min-heap (O(log n) add
 * and cancel) and a single setTimeout is armed for the earliest; none is armed when no deadline is pending,
 * so an idle process can exit.
 */

/** A pending deadline; cancel() is idempotent. */
export interface Deadline {
  cancel(): void;
}

interface Entry extends Deadline {
  at: number;
  fire: () => void;
  /** Position in the heap; -1 once fired or cancelled. */
  index: number;
}

const heap: Entry[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let timerAt = Infinity;

/** Calls `fire` after `ms` milliseconds unless cancelled first. */
export function schedule(ms: number, fire: () => void): Deadline {
  const entry: Entry = { at: performance.now() + ms, fire, index: -1, cancel: () => remove(entry) };
  entry.index = heap.length;
  heap.push(entry);
  up(entry.index);
  arm();
  return entry;
}

/** Deadlines pending (for tests). */
export function pendingDeadlines(): number {
  return heap.length;
}

function remove(entry: Entry): void {
  const i = entry.index;
  if (i < 0) return;
  entry.index = -1;
  const last = heap.pop()!;
  if (last !== entry) {
    heap[i] = last;
    last.index = i;
    down(i);
    up(last.index);
  }
  if (heap.length === 0) arm();
}

function arm(): void {
  const next = heap[0]?.at ?? Infinity;
  if (next === timerAt) return;
  clearTimeout(timer);
  timer = undefined;
  timerAt = next;
  if (next === Infinity) return;
  timer = setTimeout(run, Math.max(0, next - performance.now()));
}

function run(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  // Fire everything due, including deadlines added by a handler that are already due.
  while (heap.length > 0 && heap[0]!.at <= now) {
    const entry = heap[0]!;
    remove(entry);
    try {
      entry.fire();
    } catch (err) {
      reportError(err);
    }
  }
  arm();
}

function up(i: number): void {
  const e = heap[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const parent = heap[p]!;
    if (parent.at <= e.at) break;
    heap[i] = parent;
    parent.index = i;
    i = p;
  }
  heap[i] = e;
  e.index = i;
}

function down(i: number): void {
  const e = heap[i]!;
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && heap[r]!.at < heap[l]!.at ? r : l;
    if (heap[c]!.at >= e.at) break;
    heap[i] = heap[c]!;
    heap[i]!.index = i;
    i = c;
  }
  heap[i] = e;
  e.index = i;
}
