/**
 * Test support: a deep MLP with as many weight bytes as asked, for models bigger than one contributor may hold.
 * x[N, width] -> `layers` x (MatMul by a width x width initializer, Add a bias, Tanh) -> y[N, width]. Weights are
 * uniform in +-sqrt(3 / width) (unit variance in, about unit variance out), so outputs stay in (-1, 1) at any
 * depth and a float32 mismatch shows up as itself, not amplified. Built in code from a seed: no file to ship.
 */
import { DataType, encodeModel, type NodeProto, type TensorProto } from '../onnx-codec.ts';
import { model, node, value } from './tiny-models.ts';

/** Shape of a deep MLP. */
export interface DeepMlpOptions {
  layers: number;
  width: number;
  seed?: number;
}

/** Weight bytes of a deep MLP (its model is this plus a few KiB of graph). */
export function deepMlpWeightBytes(o: DeepMlpOptions): number {
  return o.layers * (o.width * o.width + o.width) * 4;
}

/** The deep MLP's ONNX model bytes (opset 13). */
export function deepMlp(o: DeepMlpOptions): Uint8Array<ArrayBuffer> {
  const { layers, width, seed = 1 } = o;
  if (!Number.isSafeInteger(layers) || layers < 1 || !Number.isSafeInteger(width) || width < 1 || deepMlpWeightBytes(o) > 2 ** 31 - 2 ** 20) {
    throw new RangeError(`Cannot build a deep MLP of ${layers} layers of width ${width}: it must have at least one layer and under 2 GiB of weights`);
  }
  const scale = Math.sqrt(3 / width);
  let s = seed >>> 0 || 1;
  // xorshift32: fast enough for hundreds of millions of weights.
  const fill = (n: number): Uint8Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = ((s >>> 0) / 2 ** 31 - 1) * scale;
    }
    return new Uint8Array(out.buffer);
  };
  const nodes: NodeProto[] = [];
  const initializer: TensorProto[] = [];
  let prev = 'x';
  for (let l = 0; l < layers; l++) {
    initializer.push(
      { name: `w${l}`, dims: [width, width], dataType: DataType.FLOAT, rawData: fill(width * width) },
      { name: `b${l}`, dims: [width], dataType: DataType.FLOAT, rawData: fill(width) },
    );
    const out = l === layers - 1 ? 'y' : `h${l}`;
    nodes.push(node('MatMul', [prev, `w${l}`], [`m${l}`]), node('Add', [`m${l}`, `b${l}`], [`a${l}`]), node('Tanh', [`a${l}`], [out]));
    prev = out;
  }
  return encodeModel(model({
    name: 'deep-mlp',
    node: nodes,
    initializer,
    input: [value('x', DataType.FLOAT, ['N', width])],
    output: [value('y', DataType.FLOAT, ['N', width])],
  }));
}
