/** Element type names and sizes, and the bytes a weight tensor takes once loaded. */
import { DataType, int, list, type AttributeProto, type SparseTensorProto, type TensorProto } from './onnx-codec.ts';

/** Names of ONNX element types, as onnxruntime's tensors spell them. */
const NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
  [DataType.COMPLEX64]: 'complex64',
  [DataType.COMPLEX128]: 'complex128',
  [DataType.BFLOAT16]: 'bfloat16',
  [DataType.FLOAT8E4M3FN]: 'float8e4m3fn',
  [DataType.FLOAT8E4M3FNUZ]: 'float8e4m3fnuz',
  [DataType.FLOAT8E5M2]: 'float8e5m2',
  [DataType.FLOAT8E5M2FNUZ]: 'float8e5m2fnuz',
  [DataType.UINT4]: 'uint4',
  [DataType.INT4]: 'int4',
  [DataType.FLOAT4E2M1]: 'float4e2m1',
};

/** Bytes per element (4-bit types take half a byte); strings are counted by their contents instead. */
const SIZES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.UINT16]: 2,
  [DataType.INT16]: 2,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.FLOAT16]: 2,
  [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4,
  [DataType.UINT64]: 8,
  [DataType.COMPLEX64]: 8,
  [DataType.COMPLEX128]: 16,
  [DataType.BFLOAT16]: 2,
  [DataType.FLOAT8E4M3FN]: 1,
  [DataType.FLOAT8E4M3FNUZ]: 1,
  [DataType.FLOAT8E5M2]: 1,
  [DataType.FLOAT8E5M2FNUZ]: 1,
  [DataType.UINT4]: 0.5,
  [DataType.INT4]: 0.5,
  [DataType.FLOAT4E2M1]: 0.5,
};

/** The name of an element type code, e.g. 1 -> 'float32'; unknown codes read `type<N>`. */
export function elemTypeName(code: number): string {
  return NAMES[code] ?? `type${code}`;
}

/** Bytes a dense tensor holds: elements times element size, or the string contents for string tensors. */
export function tensorBytes(t: TensorProto): number {
  const type = t.dataType ?? 0;
  if (type === DataType.STRING) return list(t.stringData).reduce((s, b) => s + b.byteLength, 0);
  const elements = list(t.dims).reduce<number>((n, d) => n * int(d), 1);
  const size = SIZES[type];
  return size === undefined ? (t.rawData?.byteLength ?? 0) : Math.ceil(elements * size);
}

/** Bytes of a sparse tensor: its values plus its indices. */
export function sparseBytes(t: SparseTensorProto): number {
  return (t.values ? tensorBytes(t.values) : 0) + (t.indices ? tensorBytes(t.indices) : 0);
}

/** Element type and bytes of a Constant node's value (whichever `value*` attribute it carries). */
export function constantValue(attr: AttributeProto): { elemType: number; bytes: number } | undefined {
  switch (attr.name) {
    case 'value':
      return attr.t ? { elemType: attr.t.dataType ?? 0, bytes: tensorBytes(attr.t) } : undefined;
    case 'sparse_value':
      return attr.sparseTensor ? { elemType: attr.sparseTensor.values?.dataType ?? 0, bytes: sparseBytes(attr.sparseTensor) } : undefined;
    case 'value_float':
      return { elemType: DataType.FLOAT, bytes: 4 };
    case 'value_floats':
      return { elemType: DataType.FLOAT, bytes: 4 * list(attr.floats).length };
    case 'value_int':
      return { elemType: DataType.INT64, bytes: 8 };
    case 'value_ints':
      return { elemType: DataType.INT64, bytes: 8 * list(attr.ints).length };
    case 'value_string':
      return { elemType: DataType.STRING, bytes: attr.s?.byteLength ?? 0 };
    case 'value_strings':
      return { elemType: DataType.STRING, bytes: list(attr.strings).reduce((s, b) => s + b.byteLength, 0) };
    default:
      return undefined;
  }
}
