/**
 * What the rest of the system knows about a kernel kind without running it: which compute worker runs its
 * tasks, what a contributor needs for it, and what a shard of it must look like beyond the wire schema. One
 * `KernelRules` per kind, in its own file, listed in index.ts.
 */
import type { Capabilities } from '../../protocol/capabilities.ts';
import type { KernelKind, KernelOf, ShardSpec } from '../../protocol/kernel.ts';

/** The rules of one kernel kind. */
export interface KernelRules<K extends KernelKind> {
  /** The compute worker that runs a task of this kind: the GPU worker, or the ONNX runtime's (CPU threads). */
  readonly lane: 'gpu' | 'onnx';
  /** What one task of this kind is, for messages ("Cannot finish a WGSL dispatch ..."). */
  readonly what: string;
  /**
   * Whether a contributor's eligibility depends on the shard as well as on the kernel (its buffers must fit the
   * adapter, say): then matching ranks contributors and explains waits per shard instead of once per job.
   */
  readonly perShard: boolean;
  /**
   * Whether a contributor with `caps` could run some kernel of this kind at all (the mesh's capacity figures
   * count it); `ineligibility` decides for one kernel and shard.
   */
  able(caps: Capabilities): boolean;
  /** Why a contributor with `caps` cannot run shard `spec` of `kernel`, or null when it can (market terms aside). */
  ineligibility(caps: Capabilities, kernel: KernelOf<K>, spec: ShardSpec): string | null;
  /**
   * Checks a shard against its kernel beyond the wire schema (the coordinator calls it on submit); throws a
   * MeshError 'invalid-message' naming the shard. Absent when the schema says all there is to check.
   */
  checkShard?(kernel: KernelOf<K>, spec: ShardSpec): void;
}
