/**
 * What a worker can tell about its CPU side: WebAssembly SIMD and threads support, and a short
 * single-thread f32 GFLOP/s estimate (a JS register-blocked matmul; a rough figure for ranking).
 */

// Minimal modules from onnxruntime-web's own feature tests: one SIMD instruction, one atomic op.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 30, 1, 28, 0, 65, 0, 253, 15, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 186, 1, 26, 11]);
const THREADS_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11]);

/** Whether this context validates WebAssembly SIMD128. */
export function wasmSimd(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Whether WebAssembly threads can run here: atomics validate and SharedArrayBuffer is usable (needs COOP/COEP). */
export function wasmThreads(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated) return false;
  try {
    new MessageChannel().port1.postMessage(new SharedArrayBuffer(1));
    return WebAssembly.validate(THREADS_PROBE);
  } catch {
    return false;
  }
}

/** Single-thread f32 GFLOP/s of a 64^3 matmul repeated for about `budgetMs` (default 40). */
export function cpuGflops(budgetMs = 40): number {
  const n = 64;
  const a = new Float32Array(n * n).map((_, i) => (i % 13) / 13);
  const b = new Float32Array(n * n).map((_, i) => (i % 7) / 7);
  const c = new Float32Array(n * n);
  let runs = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    c.fill(0);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const av = a[i * n + k]!;
        const bo = k * n;
        const co = i * n;
        for (let j = 0; j < n; j++) c[co + j]! += av * b[bo + j]!;
      }
    }
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < budgetMs);
  // Read c so the loop cannot be optimised away.
  if (Number.isNaN(c[n + 1])) return 0;
  return (2 * n * n * n * runs) / (Math.max(elapsed, 0.001) * 1e6);
}
