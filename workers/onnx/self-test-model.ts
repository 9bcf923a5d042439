/**
 * The ONNX model of the worker self-test, written out here rather than shipped as a file: one `Add` node,
 * y = x + x over float32[4] (opset 13, IR 7), protobuf-encoded by the few lines below (~90 bytes), so a fresh
 * worker can prove ORT loads, builds a session and computes without fetching anything but the runtime.
 */

/** Name of the model's input and output. */
export const SELF_TEST_IO = { input: 'x', output: 'y' } as const;

const LEN = 2;
const VARINT = 0;
const text = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const int = (field: number, n: number): number[] => [(field << 3) | VARINT, ...varint(n)];
const msg = (field: number, ...parts: number[][]): number[] => {
  const body = parts.flat();
  return [(field << 3) | LEN, ...varint(body.length), ...body];
};
const str = (field: number, s: string): number[] => msg(field, [...text.encode(s)]);

/** ValueInfoProto: name, TypeProto { tensor_type { elem_type FLOAT, shape [4] } }. */
function float4(field: number, name: string): number[] {
  return msg(field, str(1, name), msg(2, msg(1, int(1, 1), msg(2, msg(1, int(1, 4))))));
}

/** The model's bytes (a fresh copy each call: ORT may take ownership of what it is given). */
export function selfTestModel(): Uint8Array {
  const { input, output } = SELF_TEST_IO;
  const node = msg(1, str(1, input), str(1, input), str(2, output), str(4, 'Add'));
  const graph = msg(7, node, str(2, 'self-test'), float4(11, input), float4(12, output));
  return Uint8Array.from([...int(1, 7), ...str(2, 'meshwork'), ...graph, ...msg(8, str(1, ''), int(2, 13))]);
}
