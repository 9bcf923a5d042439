/**
 * A model edit: replace a model's probability output by its best path. An ArgMax over the class axis (int64
 * indices, first index on ties) and a ReduceMax (the chosen class's value) are appended, and become the model's
 * two outputs in place of the table: a CTC recogniser's [N, T, C] output becomes [N, T] indices and [N, T]
 * probabilities, which is all greedy decoding reads. ReduceMax returns the very float the ArgMax chose, so
 * decoding the two outputs gives what decoding the table gives.
 *
 * Attribute forms follow the model's default-domain opset: ArgMax takes `axis`/`keepdims` in every opset, but a
 * negative axis only from opset 11 (the axis is made non-negative from the declared rank); ReduceMax takes `axes`
 * as an attribute before opset 18 and as an int64 input (a Constant node here) from 18 on.
 */
import { MeshError } from '../protocol/errors.ts';
import { DataType, decodeModel, encodeModel, int, list, type ModelProto, type NodeProto, type ValueInfoProto } from './onnx-codec.ts';

const ATTR_INT = 2;
const ATTR_INTS = 7;

/** What to edit. */
export interface ArgMaxHeadOptions {
  /** The output to replace (default: the model's only output). */
  output?: string;
  /** Class axis, negative from the end (default -1: the last). */
  axis?: number;
}

/** The edited model and its two outputs' names. */
export interface ArgMaxHead {
  model: Uint8Array<ArrayBuffer>;
  /** int64 output: the index of the largest value along the axis. */
  indices: string;
  /** Output of the source's element type: the largest value along the axis. */
  values: string;
  /** The output replaced. */
  replaced: string;
}

/** Edits ONNX model bytes; see the module comment. The source bytes are not changed. */
export function appendArgMax(bytes: Uint8Array, opts: ArgMaxHeadOptions = {}): ArgMaxHead {
  const model = decodeModel(bytes);
  const edited = argMaxModel(model, opts);
  return { ...edited, model: encodeModel(edited.proto) };
}

/** The edit on a decoded model; returns a new ModelProto sharing the source's nodes and tensors. */
export function argMaxModel(model: ModelProto, opts: ArgMaxHeadOptions = {}): Omit<ArgMaxHead, 'model'> & { proto: ModelProto } {
  const graph = model.graph;
  if (!graph) throw new MeshError('bad-input', 'Cannot add an ArgMax to the model as it has no graph');
  const outputs = list(graph.output);
  const name = opts.output ?? (outputs.length === 1 ? outputs[0]!.name ?? '' : undefined);
  if (name === undefined) {
    throw new MeshError('bad-input', `Cannot choose the output to add an ArgMax to as the model has ${outputs.length} outputs: name one of ${outputs.map((o) => o.name).join(', ')}`);
  }
  const source = outputs.find((o) => o.name === name);
  if (!source) throw new MeshError('bad-input', `Cannot add an ArgMax to output '${name}' as the model has no such output: current outputs are ${outputs.map((o) => o.name).join(', ')}`);
  const tensor = source.type?.tensorType;
  const elemType = tensor?.elemType ?? 0;
  if (!tensor || elemType === 0) throw new MeshError('bad-input', `Cannot add an ArgMax to output '${name}' as its type must be a tensor of known element type`);
  const dims = tensor.shape ? list(tensor.shape.dim) : undefined;
  const opset = defaultOpset(model);

  let axis = opts.axis ?? -1;
  if (!Number.isSafeInteger(axis)) throw new RangeError(`Cannot add an ArgMax as 'axis' must be an integer: current value is ${axis}`);
  if (dims !== undefined) {
    if (axis < -dims.length || axis >= dims.length) {
      throw new RangeError(`Cannot add an ArgMax over axis ${axis} of output '${name}' as it has rank ${dims.length}`);
    }
    if (axis < 0) axis += dims.length;
  } else if (axis < 0 && opset < 11) {
    throw new MeshError('bad-input', `Cannot add an ArgMax over axis ${axis} of output '${name}' as its rank is not declared and opset ${opset} takes only a non-negative axis`);
  }

  const taken = namesIn(model);
  const indices = fresh(`${name}_argmax`, taken);
  const values = fresh(`${name}_max`, taken);
  const nodes: NodeProto[] = [
    { name: indices, opType: 'ArgMax', input: [name], output: [indices], attribute: [intAttr('axis', axis), intAttr('keepdims', 0)] },
  ];
  if (opset >= 18) {
    const axes = fresh(`${name}_max_axes`, taken);
    nodes.push(
      { name: axes, opType: 'Constant', input: [], output: [axes], attribute: [{ name: 'value', type: 4, t: { dims: [1], dataType: DataType.INT64, int64Data: [axis] } }] },
      { name: values, opType: 'ReduceMax', input: [name, axes], output: [values], attribute: [intAttr('keepdims', 0)] },
    );
  } else {
    nodes.push({ name: values, opType: 'ReduceMax', input: [name], output: [values], attribute: [intsAttr('axes', [axis]), intAttr('keepdims', 0)] });
  }

  const kept = dims === undefined ? undefined : { dim: dims.filter((_, i) => i !== axis) };
  const typed = (out: string, elem: number): ValueInfoProto => ({ name: out, type: { tensorType: { elemType: elem, ...(kept ? { shape: kept } : {}) } } });
  const newOutputs = outputs.flatMap((o) => (o.name === name ? [typed(indices, DataType.INT64), typed(values, elemType)] : [o]));
  const proto: ModelProto = {
    ...model,
    graph: {
      ...graph,
      node: [...list(graph.node), ...nodes],
      output: newOutputs,
      // The table is now an inner value: its declaration keeps shape inference informed.
      valueInfo: [...list(graph.valueInfo), source],
    },
  };
  return { proto, indices, values, replaced: name };
}

/** The default-domain opset the model imports. */
function defaultOpset(model: ModelProto): number {
  const entry = list(model.opsetImport).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) throw new MeshError('bad-input', 'Cannot add an ArgMax to the model as it imports no default-domain opset');
  return int(entry.version);
}

function namesIn(model: ModelProto): Set<string> {
  const names = new Set<string>();
  const graph = model.graph!;
  for (const n of list(graph.node)) {
    if (n.name) names.add(n.name);
    for (const t of [...list(n.input), ...list(n.output)]) if (t) names.add(t);
  }
  for (const vi of [...list(graph.input), ...list(graph.output), ...list(graph.valueInfo)]) if (vi.name) names.add(vi.name);
  for (const t of list(graph.initializer)) if (t.name) names.add(t.name);
  return names;
}

/** `base`, or `base_2`, `base_3`... when taken; the name is then taken. */
function fresh(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function intAttr(name: string, i: number) {
  return { name, type: ATTR_INT, i };
}

function intsAttr(name: string, ints: number[]) {
  return { name, type: ATTR_INTS, ints };
}
