/** Test support: small ONNX models built in code, each exercising one thing the partitioner must handle. */
import { rng } from '../../core/testing/prng.ts';
import {
  DataType,
  encodeModel,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from '../onnx-codec.ts';

const ATTR = { INT: 2, TENSOR: 4, GRAPH: 5, INTS: 7 } as const;

/** A float32 tensor of pseudo-random values in [-1, 1). */
export function floats(name: string, dims: number[], seed: number): TensorProto {
  const next = rng(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => next(2000) / 1000 - 1);
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

/** An int64 tensor. */
export function int64s(name: string, values: number[], dims = [values.length]): TensorProto {
  return { name, dims, dataType: DataType.INT64, int64Data: values };
}

/** A node; `attrs` values: number -> INT, number[] -> INTS, TensorProto -> TENSOR, GraphProto -> GRAPH. */
export function node(opType: string, input: string[], output: string[], attrs: Record<string, unknown> = {}, name = output[0]): NodeProto {
  const attribute: AttributeProto[] = Object.entries(attrs).map(([key, v]) => {
    if (typeof v === 'number') return { name: key, type: ATTR.INT, i: v };
    if (Array.isArray(v)) return { name: key, type: ATTR.INTS, ints: v as number[] };
    if ((v as GraphProto).node) return { name: key, type: ATTR.GRAPH, g: v as GraphProto };
    return { name: key, type: ATTR.TENSOR, t: v as TensorProto };
  });
  return { name: name ?? opType, opType, input, output, attribute };
}

/** A Constant node holding `t` (named after it). */
export function constant(t: TensorProto): NodeProto {
  return node('Constant', [], [t.name!], { value: { ...t, name: '' } }, `const_${t.name}`);
}

/** A value description: name, element type and dims (strings for symbolic dims). */
export function value(name: string, elemType: number = DataType.FLOAT, dims?: (number | string)[]): ValueInfoProto {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType, ...(shape ? { shape } : {}) } } };
}

/** A model around a graph. */
export function model(graph: GraphProto, opset = 13, irVersion = 8): ModelProto {
  return { irVersion, opsetImport: [{ domain: '', version: opset }], producerName: 'meshwork-test', graph };
}

/** x[N,8] through `layers` MatMul+Add+Relu layers with initializer weights (8x8 each); output y. */
export function mlp(layers: number): Uint8Array<ArrayBuffer> {
  const nodes: NodeProto[] = [];
  const initializer: TensorProto[] = [];
  let prev = 'x';
  for (let l = 0; l < layers; l++) {
    initializer.push(floats(`w${l}`, [8, 8], 100 + l), floats(`b${l}`, [8], 200 + l));
    const out = l === layers - 1 ? 'y' : `h${l}`;
    nodes.push(node('MatMul', [prev, `w${l}`], [`m${l}`]), node('Add', [`m${l}`, `b${l}`], [`a${l}`]), node('Relu', [`a${l}`], [out]));
    prev = out;
  }
  return encodeModel(model({ name: 'mlp', node: nodes, initializer, input: [value('x', DataType.FLOAT, ['N', 8])], output: [value('y')] }));
}

/**
 * x[2,6] -> shapes, casts, a comparison and a skip connection, with weights in Constant nodes (as paddle2onnx
 * writes them): cuts here carry int64, int32 and bool tensors, and `x2` jumps from the first node to the last.
 */
export function mixedTypes(): Uint8Array<ArrayBuffer> {
  const nodes = [
    node('Mul', ['x', 'two'], ['x2']),
    node('Shape', ['x2'], ['shape']),
    node('Cast', ['shape'], ['shape32'], { to: DataType.INT32 }),
    node('Cast', ['shape32'], ['shape64'], { to: DataType.INT64 }),
    node('Reshape', ['x2', 'flat'], ['v']),
    node('Greater', ['v', 'zero'], ['pos']),
    node('Neg', ['v'], ['nv']),
    node('Where', ['pos', 'v', 'nv'], ['abs']),
    node('Reshape', ['abs', 'shape64'], ['abs2']),
    node('Add', ['abs2', 'x2'], ['y']),
  ];
  const constants = [
    constant({ ...floats('two', [], 1), rawData: new Uint8Array(new Float32Array([2]).buffer) }),
    constant(int64s('flat', [-1])),
    constant({ ...floats('zero', [], 1), rawData: new Uint8Array(4) }),
  ];
  return encodeModel(
    model({ name: 'mixed', node: [...constants, ...nodes], input: [value('x', DataType.FLOAT, [2, 6])], output: [value('y'), value('shape32', DataType.INT32)] }),
  );
}

/**
 * x[4] -> If(sum(x) > 0): then x + c, else x - c, where the branches read `x` and the Constant `c` from the outer
 * graph (no node input names them); the If's output goes through two more nodes.
 */
export function withIf(): Uint8Array<ArrayBuffer> {
  const branch = (op: string, name: string): GraphProto => ({
    name,
    node: [node(op, ['x', 'c'], [`${name}_out`])],
    output: [value(`${name}_out`, DataType.FLOAT, [4])],
  });
  const nodes = [
    constant(floats('c', [4], 5)),
    node('ReduceSum', ['x'], ['s'], { keepdims: 0 }),
    node('Greater', ['s', 'zero'], ['cond']),
    node('If', ['cond'], ['z'], { then_branch: branch('Add', 'then'), else_branch: branch('Sub', 'else') }),
    node('Relu', ['z'], ['r']),
    node('Mul', ['r', 'x'], ['y']),
  ];
  return encodeModel(
    model({ name: 'if', node: [constant({ ...floats('zero', [], 1), rawData: new Uint8Array(4) }), ...nodes], input: [value('x', DataType.FLOAT, [4])], output: [value('y')] }, 11),
  );
}
