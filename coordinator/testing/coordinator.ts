/** Starts a real coordinator for tests: port 0, in-memory KV ledger, silent logs. */
import { startCoordinator, type RunningCoordinator } from '../server.ts';
import type { CoordinatorOptions } from '../config.ts';
import type { Ledger } from '../ledger/types.ts';
import type { OwnershipTiming } from '../cluster/index.ts';
import type { DirectoryTiming } from '../signalling/cluster/index.ts';

/**
 * A coordinator on a free port with a throwaway ledger; close it at the end of the test. Unless a test says
 * otherwise, contributors are trusted from the start (`trustNewcomers`): tests of flows then see exactly the
 * runs they ask for, and tiny test jobs need no minimum escrow. Tests of verification and of hostile peers
 * pass `trustNewcomers: false` (and `minEscrow` where it matters).
 */
export function startTestCoordinator(
  over: Partial<CoordinatorOptions> & { random?: () => number; ledger?: Ledger; clusterTiming?: Partial<DirectoryTiming>; ownershipTiming?: Partial<OwnershipTiming>; failureBackoffMs?: readonly number[] } = {},
): Promise<RunningCoordinator> {
  return startCoordinator({ port: 0, host: '127.0.0.1', data: ':memory:', logLevel: 'silent', staticDir: '/nonexistent-meshwork-static', trustNewcomers: true, minEscrow: 0, clientGraceMs: 0, ...over });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws naming `what`). */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
