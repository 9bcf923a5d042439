import * as v from 'valibot';
import { int, list, text } from './_fields.ts';
import { parser } from './validate.ts';

/** Element types a tensor may carry across the mesh. */
export const DTYPES = ['float32', 'int32', 'uint32', 'int64', 'uint8'] as const;
/** One element type. */
export type DType = (typeof DTYPES)[number];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<DType, number> = { float32: 4, int32: 4, uint32: 4, int64: 8, uint8: 1 };

/** A tensor description: name, dtype, at most 8 dims (each an integer in [0, 2^30]). */
export const TensorSpecSchema = v.strictObject({
  name: text(1, 128),
  dtype: v.picklist(DTYPES),
  dims: list(int(0, 1 << 30), 0, 8),
});
/** Name, dtype and shape of a tensor (no data). */
export type TensorSpec = v.InferOutput<typeof TensorSpecSchema>;
/** Validates a tensor description. */
export const parseTensorSpec = parser(TensorSpecSchema);

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
