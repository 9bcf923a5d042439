/**
 * Dispatch rule and binding layout of shaders/matmul.wgsl (the WGSL text itself is loaded elsewhere,
 * with Vite `?raw` in the browser or Deno.readTextFile in tests). Constants only: safe to import anywhere.
 */

/** Rows and columns of C computed by one workgroup. */
export const MATMUL_TILE = 64;

/** Entry point of the matmul kernel. */
export const MATMUL_ENTRY_POINT = 'main';

/** Group-0 bindings of the matmul kernel: A, B, params {M,N,K,_pad}, C. */
export const MATMUL_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'input' },
  { binding: 2, role: 'uniform' },
  { binding: 3, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/** Workgroups to dispatch for C[M,N]: (ceil(N/64), ceil(M/64), 1). */
export function matmulDispatch(m: number, n: number): [number, number, number] {
  checkDim('m', m);
  checkDim('n', n);
  return [Math.ceil(n / MATMUL_TILE), Math.ceil(m / MATMUL_TILE), 1];
}

/** The 16-byte params uniform {M, N, K, _pad} as a transferable buffer. */
export function matmulParams(m: number, n: number, k: number): ArrayBuffer {
  checkDim('m', m);
  checkDim('n', n);
  checkDim('k', k);
  return new Uint32Array([m, n, k, 0]).buffer;
}

/** Floating-point operations of one C[M,N] = A[M,K] x B[K,N] (a multiply and an add per term). */
export function matmulFlops(m: number, n: number, k: number): number {
  return 2 * m * n * k;
}

function checkDim(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
    throw new RangeError(`Cannot size a matmul as '${name}' must be a positive 32-bit integer: current value is ${value}`);
  }
}
