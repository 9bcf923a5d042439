/**
 * ONNX protobuf decode and encode through `onnx-proto` (protobufjs code generated from onnx.proto). The only file
 * of src/model that touches the package, so the rest reads plain interfaces.
 *
 * protobufjs gives 64-bit fields as `Long` objects where the `long` package loads (Node, Deno) and as numbers where
 * it does not (a browser bundle), so every int64 read goes through `int()`.
 */
import onnxProto from 'onnx-proto';
import { MeshError } from '../protocol/errors.ts';

const { onnx } = onnxProto;

export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type SparseTensorProto = onnxProto.onnx.ISparseTensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type TypeProto = onnxProto.onnx.ITypeProto;

/** A 64-bit protobuf integer as protobufjs gives it. */
export type Int64 = number | { toNumber(): number };

/** ONNX `TensorProto.DataType` codes (onnx.proto), including those added after onnx-proto's snapshot. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;

/** `TensorProto.DataLocation.EXTERNAL`: the tensor's bytes live in another file. */
export const EXTERNAL = 1;

/** A protobuf int64 (number or Long) as a JS number. */
export function int(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** A repeated protobuf field, absent or not. */
export function list<T>(v: readonly T[] | null | undefined): readonly T[] {
  return v ?? [];
}

/** Decodes ONNX model bytes; anything protobuf cannot read is a `bad-input` MeshError. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot read an ONNX model as the bytes must be a Uint8Array: current value is ${typeof bytes}`);
  }
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new MeshError('bad-input', `Cannot read the model as ONNX: protobuf decoding failed (${why})`, { cause: err });
  }
}

/** Encodes a model to ONNX bytes, in a Uint8Array of its own (not a view of a shared pool). */
export function encodeModel(model: ModelProto): Uint8Array<ArrayBuffer> {
  const out = onnx.ModelProto.encode(model).finish();
  const own = new Uint8Array(out.byteLength);
  own.set(out);
  return own;
}
