/** What partitioning an ONNX model returns: plain data a page can show and a pipeline runner can follow. */

/** A tensor at a stage's edge: its name and type ('float32', 'int64', ..., or 'sequence' / 'map' / 'optional'). */
export interface StageTensor {
  name: string;
  type: string;
}

/** A stage input and where it comes from: an earlier stage's index, or the model's own input. */
export interface StageInput extends StageTensor {
  from: number | 'input';
}

/** A stage output, the later stages that read it, and whether it is one of the model's outputs. */
export interface StageOutput extends StageTensor {
  to: number[];
  graphOutput: boolean;
}

/** One stage: a contiguous range of the model's computing nodes in topological order, as its own ONNX model. */
export interface Stage {
  index: number;
  /** Computing nodes [start, end) in the topological order; `first` and `last` as 'name (OpType)'. */
  nodes: { start: number; end: number; first: string; last: string };
  /** Bytes of the weights copied into this stage (a weight read by two stages counts in both). */
  weightBytes: number;
  /** The balanced measure: `weightBytes` when balancing by bytes, else the summed per-node cost. */
  cost: number;
  inputs: StageInput[];
  outputs: StageOutput[];
  /** The stage as an ONNX model (same ir_version and opset_import as the source). */
  model: Uint8Array<ArrayBuffer>;
}

/** How well the stages balance. */
export interface StageBalance {
  by: 'bytes' | 'cost';
  /** Largest stage cost over smallest (Infinity when a stage costs nothing). */
  ratio: number;
  /**
   * The lowest ratio the heaviest indivisible stretch of nodes allows (1 where it sets no bound): with one node
   * holding most of the weights, no split does better than this.
   */
  bound: number;
  /** The heaviest indivisible stretch: its first node and its cost. */
  heaviest: { node: string; cost: number };
}

/** A model split into stages. Chaining the stages, each fed from `inputs[].from`, gives the model's outputs. */
export interface StagePlan {
  stages: Stage[];
  /** The model's inputs and outputs. */
  inputs: StageTensor[];
  outputs: StageTensor[];
  computingNodes: number;
  /** Per position in the topological order the stages' node ranges index: that node's index in the graph's `node` list. */
  order: number[];
  /** Per position in that order: the bytes of the weights the node reads (a shared weight counts at each reader). */
  nodeWeightBytes: number[];
  /** Weights (Constant nodes, initializers) and their total bytes, each counted once. */
  weights: number;
  weightBytes: number;
  balance: StageBalance;
}

/** Partitioning options. */
export interface PartitionOptions {
  /** Number of stages, 1..256 and at most the number of computing nodes. */
  stages: number;
  /**
   * What to balance: 'bytes' (default: weight bytes, so each stage fits a contributor's memory), or a cost per
   * node (e.g. measured milliseconds), one non-negative number per entry of the graph's `node` list in file order;
   * Constant nodes' entries are ignored.
   */
  balance?: 'bytes' | { cost: readonly number[] };
}

/** The most stages one model may be split into. */
export const MAX_STAGES = 256;
