/**
 * Merging serving requests into one model run and splitting its outputs back: requests that share a shape key
 * (every input's name, dtype and dims past axis 0) are concatenated along axis 0, and each output, whose
 * axis 0 must then be the batch's item count, is cut into per-request slices in request order.
 */
import { concatBatch } from '../../core/sharding.ts';
import { DTYPE_BYTES, MAX_REQUEST_BYTES, type TensorData, type TensorSpec, tensorBytes } from '../../protocol/index.ts';
import { MeshError } from '../../protocol/errors.ts';

/** The shape key of a request's inputs: requests with equal keys can share a batch. */
export function shapeKey(inputs: readonly TensorSpec[]): string {
  return inputs.map((t) => `${t.name}:${t.dtype}:${t.dims.slice(1).join('x')}`).join('|');
}

/**
 * The items (axis 0) a request's inputs carry; throws MeshError 'bad-input' when they disagree or are empty,
 * 'too-large' past `maxBatch` items or MAX_REQUEST_BYTES.
 */
export function requestItems(inputs: readonly TensorSpec[], maxBatch: number): number {
  const items = inputs[0]?.dims[0];
  if (items === undefined || items < 1 || inputs.some((t) => t.dims[0] !== items)) {
    throw new MeshError('bad-input', `Cannot serve a request as every input needs the same axis 0 of at least 1: current dims are ${inputs.map((t) => `[${t.dims}]`).join(', ')}`);
  }
  if (items > maxBatch) throw new MeshError('too-large', `Cannot serve a request of ${items} items as the service's maxBatch is ${maxBatch}`);
  const bytes = inputs.reduce((n, t) => n + tensorBytes(t), 0);
  if (bytes > MAX_REQUEST_BYTES) throw new MeshError('too-large', `Cannot serve a request of ${bytes} bytes: the limit is ${MAX_REQUEST_BYTES}`);
  return items;
}

/** One model run's inputs for a batch of requests (each a list of input tensors in the same order). */
export function mergeInputs(requests: readonly (readonly TensorData[])[]): TensorData[] {
  return requests.length === 1 ? [...requests[0]!] : concatBatch(requests);
}

/** Splits a batch's outputs into each request's, by the requests' item counts in order. */
export function splitOutputs(outputs: readonly TensorData[], counts: readonly number[]): TensorData[][] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.length === 1) return [[...outputs]];
  for (const t of outputs) {
    if (t.dims[0] !== total) {
      throw new MeshError('onnx-failed', `Cannot split output '${t.name}' of a batch of ${total} items as its axis 0 is ${t.dims[0]}`);
    }
  }
  const out: TensorData[][] = counts.map(() => []);
  for (const t of outputs) {
    const itemBytes = (tensorBytes(t) / total) | 0;
    let at = 0;
    counts.forEach((n, i) => {
      const data = t.data.slice(at * itemBytes, (at + n) * itemBytes);
      out[i]!.push({ name: t.name, dtype: t.dtype, dims: [n, ...t.dims.slice(1)], data });
      at += n;
    });
  }
  return out;
}

/** Bytes of one element of a tensor (for checks). */
export function elementBytes(t: Pick<TensorSpec, 'dtype'>): number {
  return DTYPE_BYTES[t.dtype];
}
