/**
 * Splits an ONNX model into K stages at tensor cuts, for pipeline parallelism across contributors.
 *
 * The computing nodes, in a topological order, are cut into K contiguous ranges; weights are never cut but copied
 * into every stage that reads them (paddle2onnx keeps every weight in a Constant node). A stage's inputs are the
 * tensors it reads from earlier stages or the model's inputs; its outputs are what later stages read plus the
 * model outputs it makes. A tensor crosses a cut only if its type is known (see elem-types.ts). The ranges balance
 * weight bytes (each weight counted at its first reader) or a given per-node cost: the heaviest stage as light as
 * possible, then the lightest as heavy as possible (balance.ts).
 */
import { MeshError } from '../protocol/errors.ts';
import { balancedSplit, heaviestUnitBound } from './balance.ts';
import { tensorTypes } from './elem-types.ts';
import { describeNode, scanGraph, type ScannedGraph } from './graph-scan.ts';
import { decodeModel, encodeModel, list, type TypeProto } from './onnx-codec.ts';
import { stageModel, typeLabel } from './stage-model.ts';
import { MAX_STAGES, type PartitionOptions, type Stage, type StagePlan } from './stage-plan.ts';
import { elemTypeName } from './tensor-bytes.ts';

/** Splits ONNX model bytes into `options.stages` stage models; see StagePlan for what comes back. */
export function partitionOnnx(bytes: Uint8Array, options: PartitionOptions): StagePlan {
  const k = options.stages;
  if (!Number.isInteger(k) || k < 1 || k > MAX_STAGES) {
    throw new RangeError(`Cannot partition a model as 'stages' must be an integer in [1, ${MAX_STAGES}]: current value is ${k}`);
  }
  const scan = scanGraph(decodeModel(bytes));
  const n = scan.order.length;
  if (k > n) throw new RangeError(`Cannot partition the model into ${k} stages as it has only ${n} computing nodes`);
  const nodes = list(scan.graph.node);
  const balance = options.balance ?? 'bytes';
  const by = balance === 'bytes' ? 'bytes' : 'cost';
  const costs = balance === 'bytes' ? firstReaderBytes(scan) : nodeCosts(scan, balance);

  const types = tensorTypes(scan);
  const readers = readersOf(scan);
  const allowed = typedCuts(scan, types, readers);
  const cuttable = allowed.reduce((s, ok, b) => s + (b > 0 && b < n && ok ? 1 : 0), 0);
  if (cuttable < k - 1) {
    throw new MeshError('unsupported', `Cannot partition the model into ${k} stages as only ${cuttable} cut points carry tensors of known type`);
  }
  const split = balancedSplit(costs, k, (b) => allowed[b] === 1);
  const stageOf = new Int32Array(n);
  for (let s = 0; s < k; s++) stageOf.fill(s, split.bounds[s]!, split.bounds[s + 1]!);

  const label = (name: string) => typeLabel(types.get(name), elemTypeName);
  const graphOutputs = new Set(scan.outputs.map((vi) => vi.name ?? ''));
  const stages: Stage[] = [];
  for (let s = 0; s < k; s++) {
    const start = split.bounds[s]!;
    const end = split.bounds[s + 1]!;
    const inputs = new Map<string, number | 'input'>();
    const weights = new Set<string>();
    for (let p = start; p < end; p++) {
      for (const name of scan.reads[p]!) {
        if (scan.weights.has(name)) weights.add(name);
        else if (!scan.producedAt.has(name)) inputs.set(name, 'input');
        else if (scan.producedAt.get(name)! < start) inputs.set(name, stageOf[scan.producedAt.get(name)!]!);
      }
    }
    if (s === k - 1) for (const name of graphOutputs) if (scan.weights.has(name)) weights.add(name);
    const outputs = [];
    for (let p = start; p < end; p++) {
      for (const name of list(nodes[scan.order[p]!]!.output)) {
        const to = [...new Set((readers.get(name) ?? []).filter((q) => q >= end).map((q) => stageOf[q]!))];
        if (name && (to.length > 0 || graphOutputs.has(name))) outputs.push({ name, type: label(name), to, graphOutput: graphOutputs.has(name) });
      }
    }
    if (s === k - 1) {
      for (const name of graphOutputs) if (scan.weights.has(name)) outputs.push({ name, type: label(name), to: [], graphOutput: true });
    }
    const model = encodeModel(
      stageModel(scan, types, { index: s, start, end, inputs: [...inputs.keys()], outputs: outputs.map((o) => o.name), weights: [...weights] }),
    );
    const weightBytes = [...weights].reduce((sum, name) => sum + scan.weights.get(name)!.bytes, 0);
    stages.push({
      index: s,
      nodes: { start, end, first: nodeLabel(scan, start), last: nodeLabel(scan, end - 1) },
      weightBytes,
      cost: by === 'bytes' ? weightBytes : sum(costs, start, end),
      inputs: [...inputs].map(([name, from]) => ({ name, type: label(name), from })),
      outputs,
      model,
    });
  }

  const measures = stages.map((st) => st.cost);
  const heaviestAt = heaviestStretch(costs, allowed);
  return {
    stages,
    inputs: [...scan.inputs.keys()].map((name) => ({ name, type: label(name) })),
    outputs: scan.outputs.map((vi) => ({ name: vi.name ?? '', type: label(vi.name ?? '') })),
    computingNodes: n,
    order: [...scan.order],
    nodeWeightBytes: scan.reads.map((reads) => reads.reduce((b, name) => b + (scan.weights.get(name)?.bytes ?? 0), 0)),
    weights: scan.weights.size,
    weightBytes: [...scan.weights.values()].reduce((s, w) => s + w.bytes, 0),
    balance: {
      by,
      ratio: Math.min(...measures) > 0 ? Math.max(...measures) / Math.min(...measures) : Infinity,
      bound: heaviestUnitBound(split.unit, sum(costs, 0, n), k),
      heaviest: { node: nodeLabel(scan, heaviestAt), cost: split.unit },
    },
  };
}

/** Weight bytes per computing node (by position), each weight counted once, at the first node that reads it. */
function firstReaderBytes(scan: ScannedGraph): number[] {
  const seen = new Set<string>();
  return scan.reads.map((reads) => {
    let bytes = 0;
    for (const name of reads) {
      const w = scan.weights.get(name);
      if (w && !seen.has(name)) {
        seen.add(name);
        bytes += w.bytes;
      }
    }
    return bytes;
  });
}

/** The caller's per-node costs (indexed like graph.node), validated, by position in the topological order. */
function nodeCosts(scan: ScannedGraph, balance: { cost: readonly number[] }): number[] {
  const cost = balance.cost;
  const count = list(scan.graph.node).length;
  if (!cost || cost.length !== count) {
    throw new RangeError(`Cannot balance by cost as 'cost' must hold one number per graph node (${count}): current length is ${cost?.length}`);
  }
  const bad = cost.findIndex((c) => typeof c !== 'number' || !Number.isFinite(c) || c < 0);
  if (bad >= 0) throw new RangeError(`Cannot balance by cost as cost[${bad}] must be a finite number >= 0: current value is ${cost[bad]}`);
  return scan.order.map((i) => cost[i]!);
}

/** Tensor name -> positions of the computing nodes reading it. */
function readersOf(scan: ScannedGraph): Map<string, number[]> {
  const readers = new Map<string, number[]>();
  for (const [p, reads] of scan.reads.entries()) {
    for (const name of reads) (readers.get(name) ?? readers.set(name, []).get(name)!).push(p);
  }
  return readers;
}

/** allowed[b] = 1 where every tensor crossing the boundary before position b has a known type. */
function typedCuts(scan: ScannedGraph, types: ReadonlyMap<string, TypeProto>, readers: ReadonlyMap<string, number[]>): Uint8Array {
  const n = scan.order.length;
  const blocked = new Int32Array(n + 2);
  for (const [name, p] of scan.producedAt) {
    if (types.has(name)) continue;
    const last = (readers.get(name) ?? []).reduce((a, q) => Math.max(a, q), p);
    // Boundaries p+1..last are crossed by this tensor.
    if (last > p) {
      blocked[p + 1]!++;
      blocked[last + 1]!--;
    }
  }
  const allowed = new Uint8Array(n + 1);
  for (let b = 0, open = 0; b <= n; b++) {
    open += blocked[b]!;
    allowed[b] = open === 0 ? 1 : 0;
  }
  return allowed;
}

/** Position of the first node of the heaviest stretch between allowed cuts. */
function heaviestStretch(costs: readonly number[], allowed: Uint8Array): number {
  let best = 0;
  let bestCost = -1;
  for (let start = 0; start < costs.length; ) {
    let end = start + 1;
    while (end < costs.length && !allowed[end]) end++;
    const c = sum(costs, start, end);
    if (c > bestCost) [best, bestCost] = [start, c];
    start = end;
  }
  return best;
}

function sum(costs: readonly number[], start: number, end: number): number {
  let s = 0;
  for (let p = start; p < end; p++) s += costs[p]!;
  return s;
}

function nodeLabel(scan: ScannedGraph, position: number): string {
  const i = scan.order[position]!;
  return describeNode(list(scan.graph.node)[i]!, i);
}
