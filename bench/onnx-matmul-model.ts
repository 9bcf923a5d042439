/**
 * The bytes of a one-node ONNX model, Y = MatMul(A, B), written with a minimal protobuf encoder so the
 * matmul bench needs no ONNX tooling: opset 13, IR version 8, float inputs A[m,k] and B[k,n], output Y[m,n].
 * A dimension given as a string becomes a symbolic dimension (`dim_param`), so one model can serve all sizes.
 *
 * Field numbers follow onnx.proto: ModelProto{ir_version 1, producer_name 2, graph 7, opset_import 8},
 * GraphProto{node 1, name 2, input 11, output 12}, NodeProto{input 1, output 2, name 3, op_type 4},
 * ValueInfoProto{name 1, type 2}, TypeProto{tensor_type 1}, TypeProto.Tensor{elem_type 1, shape 2},
 * TensorShapeProto{dim 1}, Dimension{dim_value 1, dim_param 2}, OperatorSetIdProto{domain 1, version 2}.
 */

/** A tensor dimension: a fixed size or a symbolic name. */
export type OnnxDim = number | string;

/** TensorProto.DataType.FLOAT */
const FLOAT = 1;
const IR_VERSION = 8;
const OPSET = 13;

/** Appends protobuf fields to a growing byte list; `bytes()` returns the message. */
class ProtoWriter {
  readonly #out: number[] = [];

  /** Field `field` as a varint (wire type 0). */
  varint(field: number, value: number): this {
    this.#tag(field, 0);
    this.#varint(value);
    return this;
  }

  /** Field `field` as a UTF-8 string (wire type 2). */
  string(field: number, value: string): this {
    return this.message(field, new TextEncoder().encode(value));
  }

  /** Field `field` as an embedded message or raw bytes (wire type 2). */
  message(field: number, body: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(body.length);
    for (const b of body) this.#out.push(b);
    return this;
  }

  /** The encoded message. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#out);
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  #varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot encode a protobuf varint as it must be a non-negative safe integer: current value is ${value}`);
    }
    // Division rather than bit shifts: shifts truncate to 32 bits and int64 fields may exceed that.
    let v = value;
    while (v >= 0x80) {
      this.#out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#out.push(v);
  }
}

const msg = () => new ProtoWriter();

function valueInfo(name: string, dims: readonly OnnxDim[]): Uint8Array {
  const shape = msg();
  for (const d of dims) shape.message(1, typeof d === 'number' ? msg().varint(1, d).bytes() : msg().string(2, d).bytes());
  const tensorType = msg().varint(1, FLOAT).message(2, shape.bytes());
  const type = msg().message(1, tensorType.bytes());
  return msg().string(1, name).message(2, type.bytes()).bytes();
}

/** Input and output names of the model `onnxMatmulModel` writes. */
export const ONNX_MATMUL_NAMES = { a: 'A', b: 'B', y: 'Y' } as const;

/** ONNX bytes of Y[m,n] = MatMul(A[m,k], B[k,n]) in f32. */
export function onnxMatmulModel(m: OnnxDim, k: OnnxDim, n: OnnxDim): Uint8Array {
  for (const [key, d] of Object.entries({ m, k, n })) {
    if (typeof d === 'number' ? !Number.isSafeInteger(d) || d < 1 : !/^[A-Za-z_][A-Za-z0-9_]*$/.test(d)) {
      throw new RangeError(`Cannot write the ONNX matmul model as '${key}' must be a positive integer or an identifier: current value is ${d}`);
    }
  }
  const { a, b, y } = ONNX_MATMUL_NAMES;
  const node = msg().string(1, a).string(1, b).string(2, y).string(3, 'matmul').string(4, 'MatMul');
  const graph = msg()
    .message(1, node.bytes())
    .string(2, 'meshwork_matmul')
    .message(11, valueInfo(a, [m, k]))
    .message(11, valueInfo(b, [k, n]))
    .message(12, valueInfo(y, [m, n]));
  const opset = msg().string(1, '').varint(2, OPSET);
  return msg()
    .varint(1, IR_VERSION)
    .string(2, 'meshwork-bench')
    .message(7, graph.bytes())
    .message(8, opset.bytes())
    .bytes();
}
