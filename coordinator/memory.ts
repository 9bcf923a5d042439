/**
 * Memory housekeeping. After a burst (an attack, a flood of connections, a large job cancelled) the objects
 * are garbage and V8's memory reducer returns the JavaScript heap within about 20 s of quiet; buffers freed
 * outside the heap, however, stay in the C allocator's free lists and keep the process's RSS high. Every
 * TRIM_INTERVAL_MS the allocator is asked to give free pages back (glibc `malloc_trim`), which takes
 * microseconds to a few milliseconds. Where the call is unavailable (another libc, no FFI permission) nothing
 * happens and the reason is logged once.
 */
import type { Logger } from './log.ts';

/** How often free allocator pages are returned to the system. */
export const TRIM_INTERVAL_MS = 15_000;

/** Starts the periodic trim; returns a function that stops it. */
export function startMemoryHousekeeping(log: Logger): () => void {
  let trim: (() => void) | undefined;
  try {
    if (Deno.build.os !== 'linux') throw new Error(`malloc_trim is glibc-only: current OS is ${Deno.build.os}`);
    const lib = Deno.dlopen('libc.so.6', { malloc_trim: { parameters: ['usize'], result: 'i32' } } as const);
    trim = () => void lib.symbols.malloc_trim(0n);
  } catch (err) {
    log.info('memory housekeeping off', { reason: (err as Error).message });
    return () => {};
  }
  const timer = setInterval(trim, TRIM_INTERVAL_MS);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
