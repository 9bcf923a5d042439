/**
 * Packing and unpacking of a shard's tensors that hand a buffer on instead of copying it when the shard
 * carries a single tensor (the usual case for outputs, and for single-input models). Only for buffers the
 * SDK owns outright, such as a received blob or a worker's output: core's packTensors/unpackTensors copy
 * because their callers may still hold and change theirs.
 */
import { packTensors, unpackTensors } from '../core/sharding.ts';
import { type TensorData, type TensorSpec, tensorBytes } from '../protocol/tensor.ts';

/** The wire bytes of `tensors`: the one tensor's own buffer, or a packed copy of several. */
export function packOwned(tensors: readonly TensorData[]): ArrayBuffer {
  return tensors.length === 1 ? tensors[0]!.data : packTensors(tensors);
}

/**
 * Tensors of `specs` over `buffer`: for one spec the buffer itself (its size checked), else copies, as
 * unpackTensors makes. Throws RangeError when the buffer's size does not match the specs.
 */
export function unpackOwned(buffer: ArrayBuffer, specs: readonly TensorSpec[]): TensorData[] {
  if (specs.length !== 1) return unpackTensors(buffer, specs);
  const spec = specs[0]!;
  const want = tensorBytes(spec);
  if (buffer.byteLength !== want) {
    throw new RangeError(`Cannot unpack tensors as the buffer must hold ${want} bytes for [${spec.name}]: current length is ${buffer.byteLength}`);
  }
  return [{ name: spec.name, dtype: spec.dtype, dims: [...spec.dims], data: buffer }];
}
