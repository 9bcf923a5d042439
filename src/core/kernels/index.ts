/**
 * The kernel kinds' rules, one entry per kind (the compiler names a missing one), as the coordinator's
 * frame handlers are one table (coordinator/mesh/handlers.ts). The matcher, the market's matching and its
 * wait explanations, the submit check and the compute pool read a kind's rules only through here.
 *
 * Adding a kernel kind: its wire schema (src/protocol/kernel.ts) and worker task (src/protocol/worker.ts
 * `KernelTasks`), then one file per side (src/core/kernels/<kind>.ts, src/sdk/kernels/<kind>.ts,
 * workers/kernels/<kind>.ts) and its entry in each side's table: this one, src/sdk/kernels/index.ts and
 * workers/kernels/index.ts. Nothing else changes.
 */
import type { Capabilities } from '../../protocol/capabilities.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { KernelKind, KernelOf, KernelSpec, ShardSpec } from '../../protocol/kernel.ts';
import { matmulRules } from './matmul.ts';
import { onnxRules } from './onnx.ts';
import { rowsRules } from './rows.ts';
import type { KernelRules } from './types.ts';
import { wgslRules } from './wgsl.ts';

export type { KernelRules } from './types.ts';

/** Every kind's rules. */
export const KERNELS: { readonly [K in KernelKind]: KernelRules<K> } = {
  onnx: onnxRules,
  wgsl: wgslRules,
  matmul: matmulRules,
  rows: rowsRules,
};

/** Every kernel kind, in the table's order. */
export const KERNEL_KINDS = Object.keys(KERNELS) as readonly KernelKind[];

/** The rules of a kind; throws MeshError 'invalid-message' for a kind no entry names (a hostile or newer peer). */
export function kernelRules<K extends KernelKind>(kind: K): KernelRules<K> {
  const rules = Object.hasOwn(KERNELS, kind) ? KERNELS[kind] : undefined;
  if (!rules) throw new MeshError('invalid-message', `Cannot handle kernel kind ${JSON.stringify(kind)} as no rules are known for it`);
  return rules;
}

/** Why a contributor with `caps` cannot run shard `spec` of `kernel`, or null when it can (market terms aside). */
export function kernelIneligibility(caps: Capabilities, kernel: KernelSpec, spec: ShardSpec): string | null {
  return (kernelRules(kernel.kind) as KernelRules<KernelKind>).ineligibility(caps, kernel as KernelOf<KernelKind>, spec);
}

/** Whether a contributor with `caps` could run some kernel of `kind` at all (KernelRules.able). */
export function ableToRun(caps: Capabilities, kind: KernelKind): boolean {
  return kernelRules(kind).able(caps);
}

/** Whether eligibility for `kind` depends on the shard (see KernelRules.perShard). */
export function perShard(kind: KernelKind): boolean {
  return kernelRules(kind).perShard;
}

/** Checks shard `spec` of `kernel` beyond the wire schema (KernelRules.checkShard); a no-op for kinds without a check. */
export function checkShard(kernel: KernelSpec, spec: ShardSpec): void {
  (kernelRules(kernel.kind) as KernelRules<KernelKind>).checkShard?.(kernel as KernelOf<KernelKind>, spec);
}
