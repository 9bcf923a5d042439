/**
 * The type of every tensor a cut may carry. A stage's inputs and outputs must be typed or the stage fails to
 * load, and exporters (paddle2onnx among them) write no value_info. So: a type the model states (graph inputs and
 * outputs, value_info) wins; weights give their own; every other tensor gets its element type by operator rule,
 * walking the graph in order. Where no rule knows an operator the type stays unknown, and the partitioner does not
 * cut across that tensor.
 */
import type { ScannedGraph } from './graph-scan.ts';
import { DataType, int, list, type AttributeProto, type GraphProto, type NodeProto, type TypeProto } from './onnx-codec.ts';

type Rule = (node: NodeProto, inputs: readonly (number | undefined)[]) => (number | undefined)[];

const { BOOL, FLOAT, INT32, INT64, STRING, UINT8 } = DataType;

const attr = (node: NodeProto, name: string): AttributeProto | undefined => list(node.attribute).find((a) => a.name === name);
const attrInt = (node: NodeProto, name: string): number | undefined => {
  const a = attr(node, name);
  return a ? int(a.i) : undefined;
};
const fixed = (...types: (number | undefined)[]): Rule => () => types;
const fromInput = (k: number, fallback?: number): Rule => (_n, inputs) => [inputs[k] ?? fallback];
const fromAttr = (name: string, fallback: Rule): Rule => (n, inputs) => {
  const t = attrInt(n, name);
  return t ? [t] : fallback(n, inputs);
};
/** Outputs typed like the subgraph's outputs (`offset` skips a Loop body's condition output). */
const fromBody = (name: string, offset: number): Rule => (n) => {
  const g: GraphProto | null | undefined = attr(n, name)?.g;
  return list(g?.output).slice(offset).map((vi) => vi.type?.tensorType?.elemType || undefined);
};

/** Operators whose outputs do not all take the first input's element type. */
const RULES: Record<string, Rule> = {
  Shape: fixed(INT64),
  Size: fixed(INT64),
  ArgMax: fixed(INT64),
  ArgMin: fixed(INT64),
  NonZero: fixed(INT64),
  NonMaxSuppression: fixed(INT64),
  SequenceLength: fixed(INT64),
  Equal: fixed(BOOL),
  Less: fixed(BOOL),
  Greater: fixed(BOOL),
  LessOrEqual: fixed(BOOL),
  GreaterOrEqual: fixed(BOOL),
  And: fixed(BOOL),
  Or: fixed(BOOL),
  Xor: fixed(BOOL),
  Not: fixed(BOOL),
  IsNaN: fixed(BOOL),
  IsInf: fixed(BOOL),
  OptionalHasElement: fixed(BOOL),
  StringNormalizer: fixed(STRING),
  TfIdfVectorizer: fixed(FLOAT),
  MatMulInteger: fixed(INT32),
  ConvInteger: fixed(INT32),
  DynamicQuantizeLinear: fixed(UINT8, FLOAT, UINT8),
  Cast: fromAttr('to', fixed(undefined)),
  CastLike: fromInput(1),
  Where: fromInput(1),
  OneHot: fromInput(2),
  QLinearMatMul: fromInput(7, UINT8),
  QLinearConv: fromInput(7, UINT8),
  QuantizeLinear: fromAttr('output_dtype', fromInput(2, UINT8)),
  DequantizeLinear: fromAttr('output_dtype', fromInput(1, FLOAT)),
  ConstantOfShape: (n) => [attr(n, 'value')?.t?.dataType || FLOAT],
  EyeLike: fromAttr('dtype', fromInput(0)),
  RandomNormalLike: fromAttr('dtype', fromInput(0)),
  RandomUniformLike: fromAttr('dtype', fromInput(0)),
  Bernoulli: fromAttr('dtype', fromInput(0)),
  RandomNormal: fromAttr('dtype', fixed(FLOAT)),
  RandomUniform: fromAttr('dtype', fixed(FLOAT)),
  Multinomial: fromAttr('dtype', fixed(INT32)),
  TopK: (_n, i) => [i[0], INT64],
  MaxPool: (_n, i) => [i[0], INT64],
  Unique: (_n, i) => [i[0], INT64, INT64, INT64],
  Dropout: (_n, i) => [i[0], BOOL],
  LayerNormalization: (n, i) => {
    const stash = attrInt(n, 'stash_type') || FLOAT;
    return [i[0], stash, stash];
  },
  If: fromBody('then_branch', 0),
  Loop: fromBody('body', 1),
  Scan: fromBody('body', 0),
  // Sequences and optionals are not tensors: unknown unless the model states them.
  SequenceConstruct: fixed(undefined),
  SequenceEmpty: fixed(undefined),
  SequenceInsert: fixed(undefined),
  SequenceErase: fixed(undefined),
  SplitToSequence: fixed(undefined),
  ConcatFromSequence: fixed(undefined),
  SequenceAt: fixed(undefined),
  SequenceMap: fixed(undefined),
  Optional: fixed(undefined),
  OptionalGetElement: fixed(undefined),
};

/** Domains whose operators follow the rules above (ORT's contrib ops keep their first input's type too). */
const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);

/** Element types of a node's outputs from those of its inputs; undefined where unknown. */
export function outputElemTypes(node: NodeProto, inputs: readonly (number | undefined)[]): (number | undefined)[] {
  if (!KNOWN_DOMAINS.has(node.domain ?? '')) return [];
  const rule = RULES[node.opType ?? ''];
  if (rule) return rule(node, inputs);
  return list(node.output).map(() => inputs[0]);
}

/** A type the model states, if it states one usable as a stage input or output. */
function stated(type: TypeProto | null | undefined): TypeProto | undefined {
  if (!type) return undefined;
  if (type.tensorType) return type.tensorType.elemType ? type : undefined;
  return type.sequenceType || type.mapType || type.optionalType || type.sparseTensorType ? type : undefined;
}

/** The type of every tensor whose type is known, by name. */
export function tensorTypes(scan: ScannedGraph): Map<string, TypeProto> {
  const { graph } = scan;
  const types = new Map<string, TypeProto>();
  for (const w of scan.weights.values()) if (w.elemType) types.set(w.name, { tensorType: { elemType: w.elemType } });
  for (const vi of [...list(graph.input), ...list(graph.valueInfo), ...list(graph.output)]) {
    const t = stated(vi.type);
    if (vi.name && t) types.set(vi.name, t);
  }
  const nodes = list(graph.node);
  for (const i of scan.order) {
    const node = nodes[i]!;
    const inputs = list(node.input).map((name) => (name ? types.get(name)?.tensorType?.elemType || undefined : undefined));
    const outs = outputElemTypes(node, inputs);
    for (const [k, name] of list(node.output).entries()) {
      const elemType = outs[k];
      if (name && elemType && !types.has(name)) types.set(name, { tensorType: { elemType } });
    }
  }
  return types;
}
