/**
 * The coordinators of one cluster a session may use, and the order it tries them in after its socket drops:
 * the same one once, soon (a drop is more often the network than the server), then round-robin through the
 * list starting after it and ending with it. The reconnect backoff is applied once per full cycle, so a whole
 * cluster being down costs the waits one coordinator being down costs, and a dead coordinator delays the move
 * to a live one by a refused connection, not by a backoff step. With a list of one this is the plain backoff.
 */
import type { ReconnectPolicy } from './peer-network.ts';

/** Most coordinators one session may list. */
export const MAX_COORDINATORS = 16;

/**
 * Checks and normalises one coordinator base URL: http(s), without query, fragment or credentials, without
 * its trailing slash (`https://a/` and `https://a` are one coordinator). Throws a TypeError naming `label`.
 */
export function coordinatorBase(raw: string | URL, label = 'coordinator'): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`Cannot use '${label}' as it must be an http(s) URL: current value is '${String(raw)}'`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new TypeError(`Cannot use '${label}' as a coordinator base URL has no query, fragment or credentials: current value is '${String(raw)}'`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Checks and normalises a list of coordinator base URLs (`coordinatorBase` each), drops duplicates in order and
 * wants 1..16 left. Throws a TypeError naming the offending entry of `name`.
 */
export function coordinatorList(urls: readonly (string | URL)[], name = 'coordinators'): string[] {
  if (!Array.isArray(urls)) throw new TypeError(`Cannot use '${name}' as it must be an array of URLs: current value is ${String(urls)}`);
  const list: string[] = [];
  urls.forEach((raw, i) => {
    const base = coordinatorBase(raw, `${name}[${i}]`);
    if (!list.includes(base)) list.push(base);
  });
  if (list.length === 0) throw new TypeError(`Cannot use '${name}' as it must list at least one coordinator: current value is []`);
  if (list.length > MAX_COORDINATORS) {
    throw new TypeError(`Cannot use '${name}' as it may list at most ${MAX_COORDINATORS} coordinators: current count is ${list.length}`);
  }
  return list;
}

/** Pause of backoff step `step` (0, 1, ...): `baseMs * 2^step` capped at `maxMs`, jittered down by up to half. */
export function backoffMs(step: number, policy: ReconnectPolicy, random: () => number = Math.random): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** step) * (0.5 + random() / 2);
}

/** One reconnect try: the coordinator (index into the list) and the pause before trying it. */
export interface ReconnectStep {
  index: number;
  delayMs: number;
}

/**
 * The tries after a drop from coordinator `current` of `count`, `policy.attempts` in all: `current` after
 * backoff step 0, then cycles c = 1, 2, ... over `current + 1`, ..., `current` (wrapping), each opened by
 * backoff step c and tried back to back.
 */
export function* reconnectPlan(count: number, current: number, policy: ReconnectPolicy, random: () => number = Math.random): Generator<ReconnectStep> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`Cannot plan reconnects as 'count' must be a positive integer: current value is ${count}`);
  if (!Number.isInteger(current) || current < 0 || current >= count) {
    throw new RangeError(`Cannot plan reconnects as 'current' must be an index below ${count}: current value is ${current}`);
  }
  let attempts = 0;
  if (attempts++ >= policy.attempts) return;
  yield { index: current, delayMs: backoffMs(0, policy, random) };
  for (let cycle = 1; ; cycle++) {
    for (let k = 1; k <= count; k++) {
      if (attempts++ >= policy.attempts) return;
      yield { index: (current + k) % count, delayMs: k === 1 ? backoffMs(cycle, policy, random) : 0 };
    }
  }
}
