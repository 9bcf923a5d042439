/**
 * Op codes, params layout and dispatch rule of shaders/elementwise.wgsl. Constants only: safe to
 * import anywhere (the WGSL text is loaded with Vite `?raw` or Deno.readTextFile).
 */

/** Op codes of the element-wise kernel, in the order the WGSL switch uses. */
export const ELEMENTWISE_OPS = { add: 0, mul: 1, relu: 2, affine: 3 } as const;
/** Name of one element-wise op. */
export type ElementwiseOp = keyof typeof ELEMENTWISE_OPS;

/** Threads per workgroup of the element-wise kernel. */
export const ELEMENTWISE_WORKGROUP = 256;

/** Largest workgroup count per dimension every WebGPU device accepts. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Entry point of the element-wise kernel. */
export const ELEMENTWISE_ENTRY_POINT = 'main';

/** Group-0 bindings of the element-wise kernel: a, b, params {n, op, alpha, beta}, y. */
export const ELEMENTWISE_BINDINGS = [
  { binding: 0, role: 'input' },
  { binding: 1, role: 'input' },
  { binding: 2, role: 'uniform' },
  { binding: 3, role: 'output' },
] as const satisfies readonly { binding: number; role: 'input' | 'uniform' | 'output' }[];

/**
 * Workgroups for n floats: one thread per element (per vec4 with `width` 4) up to 65535 workgroups in x,
 * then rows in y; the kernel's grid-stride loop covers whatever the grid does not.
 */
export function elementwiseDispatch(n: number, width: 1 | 4 = 1): [number, number, number] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new RangeError(`Cannot size an element-wise dispatch as 'n' must be a 32-bit integer >= 0: current value is ${n}`);
  }
  const groups = Math.max(1, Math.ceil(n / width / ELEMENTWISE_WORKGROUP));
  const x = Math.min(groups, MAX_WORKGROUPS_PER_DIM);
  const y = Math.min(Math.ceil(groups / x), MAX_WORKGROUPS_PER_DIM);
  return [x, y, 1];
}

/** The 16-byte params uniform {n: u32, op: u32, alpha: f32, beta: f32} as a transferable buffer. */
export function elementwiseParams(n: number, op: ElementwiseOp, alpha = 1, beta = 0): ArrayBuffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new RangeError(`Cannot encode element-wise params as 'n' must be a 32-bit integer >= 0: current value is ${n}`);
  }
  const code = ELEMENTWISE_OPS[op];
  if (code === undefined) {
    throw new RangeError(`Cannot encode element-wise params as 'op' is unknown: current value is ${String(op)}`);
  }
  const buf = new ArrayBuffer(16);
  const view = new DataView(buf);
  view.setUint32(0, n, true);
  view.setUint32(4, code, true);
  view.setFloat32(8, alpha, true);
  view.setFloat32(12, beta, true);
  return buf;
}

/**
 * The vec4 variant of shaders/elementwise.wgsl (its text passed in: loaded with `?raw` or a file read):
 * element type vec4<f32>, for n a multiple of 4; dispatch it with `elementwiseDispatch(n, 4)`. params.n
 * stays the float count.
 */
export function elementwiseVec4Source(scalarSource: string): string {
  const markers = ['alias T = f32;', 'const WIDTH: u32 = 1u;'];
  for (const m of markers) {
    if (!scalarSource.includes(m)) throw new TypeError(`Cannot derive the vec4 element-wise kernel as the source lacks '${m}'`);
  }
  return scalarSource.replace(markers[0]!, 'alias T = vec4<f32>;').replace(markers[1]!, 'const WIDTH: u32 = 4u;');
}

/** Whether n floats can run on the vec4 variant. */
export function elementwiseUsesVec4(n: number): boolean {
  return n % 4 === 0;
}
