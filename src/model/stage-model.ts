/**
 * Builds one stage as a standalone ONNX model: the weights it reads (Constant nodes first, as in the source, so
 * the node list stays topologically sorted; initializers as initializers), then its computing nodes in order. Its
 * inputs keep the source's declarations where they are model inputs and get the cut tensor's type otherwise;
 * ir_version, opset_import, model-local functions and metadata are kept.
 */
import type { ScannedGraph } from './graph-scan.ts';
import { list, type ModelProto, type NodeProto, type TypeProto, type ValueInfoProto } from './onnx-codec.ts';

/** The tensors and nodes a stage is made of. */
export interface StageParts {
  index: number;
  /** Computing nodes [start, end) in `scan.order`. */
  start: number;
  end: number;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Names of the weights its nodes read (or, for the last stage, that are model outputs). */
  weights: readonly string[];
}

/** The stage's ModelProto (sharing the source's node and tensor objects: encode it, do not mutate it). */
export function stageModel(scan: ScannedGraph, types: ReadonlyMap<string, TypeProto>, parts: StageParts): ModelProto {
  const { model, graph } = scan;
  const nodes = list(graph.node);
  const declared = new Map<string, ValueInfoProto>();
  for (const vi of list(graph.input)) if (vi.name) declared.set(vi.name, vi);
  const graphOutputs = new Map(scan.outputs.map((vi) => [vi.name ?? '', vi]));
  const typed = (name: string): ValueInfoProto => {
    const type = types.get(name);
    return type ? { name, type } : { name };
  };

  const used = parts.weights.map((name) => scan.weights.get(name)!);
  const constantNodes = used.filter((w) => w.source.kind === 'node').map((w) => w.source.index).sort((a, b) => a - b);
  const initializers = used.filter((w) => w.source.kind === 'initializer').map((w) => list(graph.initializer)[w.source.index]!);
  const sparse = used.filter((w) => w.source.kind === 'sparse').map((w) => list(graph.sparseInitializer)[w.source.index]!);
  const computing: NodeProto[] = scan.order.slice(parts.start, parts.end).map((i) => nodes[i]!);

  const inputs = parts.inputs.map((name) => declared.get(name) ?? typed(name));
  if (scan.irVersion < 4) {
    // Before IR 4 every initializer had to be listed among the graph inputs as well.
    for (const w of used) if (w.source.kind !== 'node') inputs.push(declared.get(w.name) ?? typed(w.name));
  }
  const produced = new Set<string>();
  for (const node of computing) for (const out of list(node.output)) if (out) produced.add(out);
  const outputs = new Set(parts.outputs);
  const valueInfo = list(graph.valueInfo).filter((vi) => vi.name && produced.has(vi.name) && !outputs.has(vi.name));

  const stage: ModelProto = {
    irVersion: model.irVersion ?? null,
    opsetImport: [...list(model.opsetImport)],
    producerName: 'meshwork-partition',
    producerVersion: '1',
    domain: model.domain ?? '',
    modelVersion: model.modelVersion ?? 0,
    docString: `Stage ${parts.index} of ${model.graph?.name || 'an ONNX model'}${model.producerName ? ` (from ${model.producerName})` : ''}`,
    metadataProps: [...list(model.metadataProps)],
    functions: [...list(model.functions)],
    graph: {
      name: `${graph.name || 'graph'}_stage${parts.index}`,
      node: [...constantNodes.map((i) => nodes[i]!), ...computing],
      initializer: initializers,
      sparseInitializer: sparse,
      input: inputs,
      output: parts.outputs.map((name) => graphOutputs.get(name) ?? typed(name)),
      valueInfo,
    },
  };
  return stage;
}

/** A type as the stage plan shows it. */
export function typeLabel(type: TypeProto | undefined, elemName: (code: number) => string): string {
  if (!type) return 'unknown';
  if (type.tensorType) return type.tensorType.elemType ? elemName(type.tensorType.elemType) : 'unknown';
  if (type.sparseTensorType) return `sparse ${elemName(type.sparseTensorType.elemType ?? 0)}`;
  if (type.sequenceType) return 'sequence';
  if (type.mapType) return 'map';
  if (type.optionalType) return 'optional';
  return 'unknown';
}
