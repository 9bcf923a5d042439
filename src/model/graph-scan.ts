/**
 * Reads an ONNX graph into what partitioning needs: the computing nodes in a topological order, the weights set
 * aside (Constant nodes, initializers, sparse initializers: copied into each stage that reads them, never cut),
 * and which tensors each node reads, including the outer-scope names its If/Loop/Scan bodies use.
 */
import { BinaryHeap } from '../core/binary-heap.ts';
import { MeshError } from '../protocol/errors.ts';
import {
  EXTERNAL,
  int,
  list,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-codec.ts';
import { constantValue, sparseBytes, tensorBytes } from './tensor-bytes.ts';

/** Where a weight comes from in the source graph. */
export type WeightSource = { kind: 'node' | 'initializer' | 'sparse'; index: number };

/** A tensor that is part of the model rather than computed from its inputs. */
export interface Weight {
  name: string;
  bytes: number;
  elemType: number;
  source: WeightSource;
}

/** The graph as partitioning sees it. */
export interface ScannedGraph {
  model: ModelProto;
  graph: GraphProto;
  irVersion: number;
  /** Indices into `graph.node` of the computing (non-Constant) nodes, in topological order. */
  order: number[];
  /** Weights by tensor name. */
  weights: Map<string, Weight>;
  /** Per position in `order`: the tensors that node reads (subgraph outer references included), once each. */
  reads: string[][];
  /** Tensor name -> position in `order` of the node producing it. */
  producedAt: Map<string, number>;
  /** Graph inputs fed at run time (an input that is also an initializer is a weight), by name. */
  inputs: Map<string, ValueInfoProto>;
  /** Graph outputs, in order. */
  outputs: ValueInfoProto[];
}

/** Nesting depth of subgraphs (If inside Loop inside ...) that is read before the model is refused. */
const MAX_SUBGRAPH_DEPTH = 32;

const bad = (why: string) => new MeshError('bad-input', `Cannot partition the model as ${why}`);

/** True for the ONNX Constant operator (default domain). */
export function isConstantNode(node: NodeProto): boolean {
  return node.opType === 'Constant' && (!node.domain || node.domain === 'ai.onnx');
}

/** Scans a decoded model; hostile or malformed graphs get a `bad-input` or `unsupported` MeshError. */
export function scanGraph(model: ModelProto): ScannedGraph {
  const irVersion = int(model.irVersion);
  const graph = model.graph;
  if (irVersion < 1 || !graph) throw bad(`it is not an ONNX model: ir_version is ${irVersion} and graph is ${graph ? 'set' : 'missing'}`);
  if (irVersion >= 3 && list(model.opsetImport).length === 0) throw bad('it is not an ONNX model: opset_import is empty');
  const nodes = list(graph.node);
  if (nodes.length === 0) throw bad('its graph has no nodes');

  const weights = collectWeights(graph, nodes);
  const inputs = new Map<string, ValueInfoProto>();
  for (const vi of list(graph.input)) if (vi.name && !weights.has(vi.name)) inputs.set(vi.name, vi);

  const computing: number[] = [];
  const producer = new Map<string, number>(); // tensor -> index into graph.node
  for (const [i, node] of nodes.entries()) {
    if (isConstantNode(node)) continue;
    computing.push(i);
    for (const out of list(node.output)) {
      if (!out) continue;
      if (producer.has(out) || weights.has(out) || inputs.has(out)) throw bad(`tensor '${out}' is defined twice (node ${describeNode(node, i)})`);
      producer.set(out, i);
    }
  }

  const readsByNode = new Map<number, string[]>();
  for (const i of computing) {
    const node = nodes[i]!;
    const reads = nodeReads(node, 0);
    for (const name of reads) {
      if (!producer.has(name) && !weights.has(name) && !inputs.has(name)) {
        throw bad(`tensor '${name}' read by node ${describeNode(node, i)} comes from no node, input or initializer`);
      }
    }
    readsByNode.set(i, reads);
  }

  const order = topoOrder(nodes, computing, producer, readsByNode);
  const producedAt = new Map<string, number>();
  for (const [pos, i] of order.entries()) for (const out of list(nodes[i]!.output)) if (out) producedAt.set(out, pos);

  const outputs = [...list(graph.output)];
  for (const vi of outputs) {
    const name = vi.name ?? '';
    if (!producedAt.has(name) && !weights.has(name)) {
      throw inputs.has(name)
        ? new MeshError('unsupported', `Cannot partition the model as graph output '${name}' is a graph input passed through`)
        : bad(`graph output '${name}' is produced by no node`);
    }
  }
  return { model, graph, irVersion, order, weights, reads: order.map((i) => readsByNode.get(i)!), producedAt, inputs, outputs };
}

function collectWeights(graph: GraphProto, nodes: readonly NodeProto[]): Map<string, Weight> {
  const weights = new Map<string, Weight>();
  const add = (w: Weight) => {
    if (!w.name) throw bad(`a weight (${w.source.kind} #${w.source.index}) has no name`);
    if (weights.has(w.name)) throw bad(`weight '${w.name}' is defined twice`);
    weights.set(w.name, w);
  };
  for (const [index, t] of list(graph.initializer).entries()) {
    refuseExternal(t);
    add({ name: t.name ?? '', bytes: tensorBytes(t), elemType: t.dataType ?? 0, source: { kind: 'initializer', index } });
  }
  for (const [index, t] of list(graph.sparseInitializer).entries()) {
    if (t.values) refuseExternal(t.values);
    add({ name: t.values?.name ?? '', bytes: sparseBytes(t), elemType: t.values?.dataType ?? 0, source: { kind: 'sparse', index } });
  }
  for (const [index, node] of nodes.entries()) {
    if (!isConstantNode(node)) continue;
    const attr = list(node.attribute)[0];
    const value = attr && constantValue(attr);
    if (!value || list(node.output).length !== 1) throw bad(`Constant node ${describeNode(node, index)} has no value or not one output`);
    if (attr.t) refuseExternal(attr.t);
    add({ name: list(node.output)[0]!, ...value, source: { kind: 'node', index } });
  }
  return weights;
}

function refuseExternal(t: TensorProto): void {
  if (t.dataLocation === EXTERNAL) {
    throw new MeshError('unsupported', `Cannot partition the model as tensor '${t.name}' keeps its data in an external file`);
  }
}

/** Tensors a node reads: its inputs, then the outer-scope names its subgraphs use; once each, in order. */
function nodeReads(node: NodeProto, depth: number): string[] {
  const seen = new Set<string>();
  for (const name of list(node.input)) if (name) seen.add(name);
  for (const attr of list(node.attribute)) {
    for (const sub of subgraphs(attr)) for (const name of outerNames(sub, depth + 1)) seen.add(name);
  }
  return [...seen];
}

function subgraphs(attr: { g?: GraphProto | null; graphs?: GraphProto[] | null }): GraphProto[] {
  return [...(attr.g ? [attr.g] : []), ...list(attr.graphs)];
}

/** Names a subgraph reads from the scopes around it: what it uses but does not define itself. */
function outerNames(g: GraphProto, depth: number): Set<string> {
  if (depth > MAX_SUBGRAPH_DEPTH) throw bad(`its subgraphs nest deeper than ${MAX_SUBGRAPH_DEPTH} levels`);
  const defined = new Set<string>();
  for (const vi of list(g.input)) if (vi.name) defined.add(vi.name);
  for (const t of list(g.initializer)) if (t.name) defined.add(t.name);
  for (const t of list(g.sparseInitializer)) if (t.values?.name) defined.add(t.values.name);
  for (const n of list(g.node)) for (const out of list(n.output)) if (out) defined.add(out);
  const outer = new Set<string>();
  const use = (name: string | null | undefined) => {
    if (name && !defined.has(name)) outer.add(name);
  };
  for (const n of list(g.node)) for (const name of nodeReads(n, depth)) use(name);
  for (const vi of list(g.output)) use(vi.name);
  return outer;
}

/** Kahn's algorithm over the computing nodes, taking the earliest ready node in file order (stable). */
function topoOrder(
  nodes: readonly NodeProto[],
  computing: readonly number[],
  producer: ReadonlyMap<string, number>,
  readsByNode: ReadonlyMap<number, string[]>,
): number[] {
  const waiting = new Map<number, number>();
  const consumers = new Map<number, number[]>();
  for (const i of computing) {
    const deps = new Set<number>();
    for (const name of readsByNode.get(i)!) {
      const p = producer.get(name);
      if (p !== undefined && p !== i) deps.add(p);
      else if (p === i) throw bad(`node ${describeNode(nodes[i]!, i)} reads its own output`);
    }
    waiting.set(i, deps.size);
    for (const p of deps) (consumers.get(p) ?? consumers.set(p, []).get(p)!).push(i);
  }
  const ready = new BinaryHeap<number>((a, b) => a < b, computing.filter((i) => waiting.get(i) === 0));
  const order: number[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(i);
    for (const c of consumers.get(i) ?? []) {
      const left = waiting.get(c)! - 1;
      waiting.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  if (order.length !== computing.length) {
    const stuck = computing.find((i) => waiting.get(i)! > 0)!;
    throw bad(`its graph has a cycle through node ${describeNode(nodes[stuck]!, stuck)}`);
  }
  return order;
}

/** A node as error messages name it. */
export function describeNode(node: NodeProto, index: number): string {
  return `#${index} '${node.name || '(unnamed)'}' (${node.opType || '?'})`;
}
