/**
 * The wait of a lease the contributor failed on the link: its own report (`fail`) travels through the
 * coordinator, which then releases the lease; the client rejects the lease only if that release does not come.
 */

/**
 * How long a lease the contributor failed on the link waits for the coordinator to release it (the contributor's
 * own report, `fail`, travels through the coordinator) before this client rejects it as 'transfer-failed'.
 */
export const RELEASE_WAIT_MS = 3_000;

/** Resolves when `signal` aborts or after `ms`, whichever comes first. */
export function aborted(signal: AbortSignal, ms: number): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
