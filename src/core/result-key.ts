/**
 * The exact-match key of a shard's result: which kernel ran, on which inputs (their hash), producing which
 * layout of outputs. The coordinator indexes verified outputs by it (coordinator/market/result-cache.ts) and a
 * contributor finds the output it keeps for a repeated shard by it (src/storage/result-store.ts), so both
 * sides derive it here, from the same canonical JSON.
 */
import { canonicalJson } from '../protocol/coordinator.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import { sha256Hex } from './hash.ts';

/** The content key of a kernel: SHA-256 of its canonical JSON. */
export function kernelKey(kernel: KernelSpec): Promise<string> {
  return sha256Hex(new TextEncoder().encode(canonicalJson(kernel)));
}

/** The result key of shard `spec` of the kernel keyed `kernel`: the inputs' hash and what the outputs must be. */
export function shardKey(kernel: string, spec: ShardSpec): string {
  return `${kernel}:${spec.inputHash}:${canonicalJson({ inputs: spec.inputs, outputs: spec.outputs, dispatch: spec.dispatch })}`;
}

/** A fixed-size form of a result key (SHA-256 hex of `shardKey`), what a contributor's store indexes. */
export async function resultKey(kernel: KernelSpec, spec: ShardSpec): Promise<string> {
  return sha256Hex(new TextEncoder().encode(shardKey(await kernelKey(kernel), spec)));
}
