import { arr, type Infer, num, obj, oneOf, str } from './validate.ts';

/** Element types a tensor may carry across the mesh. */
export const DTYPES = ['float32', 'int32', 'uint32', 'int64', 'uint8'] as const;
/** One element type. */
export type DType = (typeof DTYPES)[number];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<DType, number> = { float32: 4, int32: 4, uint32: 4, int64: 8, uint8: 1 };

/** Validates a tensor description: name, dtype, dims (each a non-negative integer). */
export const parseTensorSpec = obj({
  name: str({ min: 1, max: 128 }),
  dtype: oneOf(...DTYPES),
  dims: arr(num({ int: true, min: 0, max: 1 << 30 }), { max: 8 }),
});
/** Name, dtype and shape of a tensor (no data). */
export type TensorSpec = Infer<typeof parseTensorSpec>;

/** A tensor with its bytes; `data` is a whole ArrayBuffer so it can be transferred. */
export interface TensorData extends TensorSpec {
  data: ArrayBuffer;
}

/** Number of elements of a tensor. */
export function tensorElements(spec: Pick<TensorSpec, 'dims'>): number {
  return spec.dims.reduce((a, b) => a * b, 1);
}

/** Number of bytes of a tensor. */
export function tensorBytes(spec: Pick<TensorSpec, 'dims' | 'dtype'>): number {
  return tensorElements(spec) * DTYPE_BYTES[spec.dtype];
}
