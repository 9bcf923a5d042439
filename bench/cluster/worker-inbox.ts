/** The main thread's side of a Worker: its messages, awaited by tag. */
import type { FromWorker } from './load-protocol.ts';

/** Messages of a Worker, awaited by tag; a 'failed' message or an error rejects every wait. */
export function workerInbox(w: Worker, name: string): { next(t: FromWorker['t'], timeoutMs: number): Promise<FromWorker> } {
  const got: FromWorker[] = [];
  let failure: Error | undefined;
  let wake = () => {};
  w.onmessage = (e: MessageEvent<FromWorker>) => {
    if (e.data.t === 'failed') failure = new Error(`${name} failed: ${e.data.message}`);
    else got.push(e.data);
    wake();
  };
  w.onerror = (e) => {
    e.preventDefault();
    failure = new Error(`${name} threw: ${e.message}`);
    wake();
  };
  return {
    async next(t, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (failure) throw failure;
        const i = got.findIndex((m) => m.t === t);
        if (i >= 0) return got.splice(i, 1)[0]!;
        if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for '${t}' from ${name}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
  };
}
