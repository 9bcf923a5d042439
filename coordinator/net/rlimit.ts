/**
 * Raises the process's soft limit on open descriptors (RLIMIT_NOFILE) to its hard limit through libc's
 * getrlimit/setrlimit over Deno FFI (`--allow-ffi`, part of `--allow-all`). Each connection costs a
 * descriptor, and distributions often start processes at a soft limit of 1024. Deno itself raises the limit
 * at start-up on most systems; this makes it explicit, works where it does not, and reports the result.
 * Where FFI or libc is unavailable it reports why and changes nothing (`ulimit -n` in the shell then).
 */

/** The descriptor limits after the attempt. */
export interface FdLimit {
  soft: number;
  hard: number;
  /** Whether the soft limit was raised by this call. */
  raised: boolean;
  /** Why nothing could be read or changed, when so. */
  error?: string;
}

const PLATFORM: Partial<Record<typeof Deno.build.os, { lib: string; resource: number }>> = {
  linux: { lib: 'libc.so.6', resource: 7 },
  darwin: { lib: 'libSystem.B.dylib', resource: 8 },
};

/** Raises the soft RLIMIT_NOFILE to the hard limit (capped at `cap`); never throws. */
export function raiseFdLimit(cap = 1_048_576): FdLimit {
  const platform = PLATFORM[Deno.build.os];
  if (!platform) return { soft: -1, hard: -1, raised: false, error: `Cannot read descriptor limits on ${Deno.build.os}` };
  let lib: Deno.DynamicLibrary<{ getrlimit: Deno.ForeignFunction; setrlimit: Deno.ForeignFunction }> | undefined;
  try {
    lib = Deno.dlopen(platform.lib, {
      getrlimit: { parameters: ['i32', 'buffer'], result: 'i32' },
      setrlimit: { parameters: ['i32', 'buffer'], result: 'i32' },
    } as const);
    const limits = new BigUint64Array(2);
    const bytes = new Uint8Array(limits.buffer);
    if (lib.symbols.getrlimit(platform.resource, bytes) !== 0) return { soft: -1, hard: -1, raised: false, error: 'Cannot read descriptor limits: getrlimit failed' };
    const hard = limits[1]!;
    const soft = limits[0]!;
    // RLIM_INFINITY is all ones; a finite target keeps select()-era code paths and kernels sane.
    const target = hard > BigInt(cap) ? BigInt(cap) : hard;
    if (soft >= target) return { soft: Number(soft), hard: toNumber(hard), raised: false };
    limits[0] = target;
    if (lib.symbols.setrlimit(platform.resource, bytes) !== 0) {
      return { soft: Number(soft), hard: toNumber(hard), raised: false, error: `Cannot raise the soft descriptor limit to ${target}: setrlimit failed` };
    }
    return { soft: Number(target), hard: toNumber(hard), raised: true };
  } catch (err) {
    return { soft: -1, hard: -1, raised: false, error: `Cannot use FFI to read descriptor limits: ${(err as Error).message}` };
  } finally {
    lib?.close();
  }
}

function toNumber(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}
