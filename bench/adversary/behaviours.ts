/**
 * What each kind of peer does. Contributors: one function per role from an assignment to the claim it makes,
 * whether it delivers and how long it takes (an exhaustive table: a new role is one entry). Clients: honest
 * ones follow the SDK; freeloaders alternate between two ways of not paying.
 */
import type { ShardSpec } from '../../src/protocol/kernel.ts';
import { colludedHash, honestHash, randomHash } from './hashes.ts';

/** Saboteur kinds of the issue, plus the patient variant of colluders. */
export type SaboteurKind = 'garbage' | 'colluders' | 'hoarders' | 'freeloaders' | 'sybils' | 'patient';
/** What a contributor is. */
export type ContributorRole = 'honest' | Exclude<SaboteurKind, 'freeloaders'>;
/** What a client is. */
export type ClientRole = 'honest' | 'freeloader';
/** How a freeloading client avoids paying for one job: cancel once it has half the outputs, or complain about every run. */
export type Freeload = 'cancel' | 'complain';

/** What a contributor does with one assignment. */
export interface Work {
  /** The output hash it claims. */
  hash: string;
  /** Whether it sends the outputs to the client (a hoarder never does). */
  deliver: boolean;
  /** Milliseconds between the assignment and the claim. */
  delayMs: number;
}

/** Simulated compute time of one shard on an honest contributor, in ms. */
export function computeMs(): number {
  return 2 + Math.random() * 4;
}

/** Garbage needs no compute: saboteurs claim at once, which also gives them the best measured speed. */
const FAST_MS = 1;

type Behaviour = (spec: ShardSpec, credible: boolean) => Work;

const BEHAVIOURS: { [R in ContributorRole]: Behaviour } = {
  honest: (spec) => ({ hash: honestHash(spec.inputHash), deliver: true, delayMs: computeMs() }),
  garbage: () => ({ hash: randomHash(), deliver: true, delayMs: FAST_MS }),
  colluders: (spec) => ({ hash: colludedHash(spec.inputHash), deliver: true, delayMs: FAST_MS }),
  sybils: (spec) => ({ hash: colludedHash(spec.inputHash), deliver: true, delayMs: FAST_MS }),
  hoarders: () => ({ hash: randomHash(), deliver: false, delayMs: 0 }),
  // Honest work until the market counts it credible, then the colluders' shared garbage.
  patient: (spec, credible) => (credible ? BEHAVIOURS.colluders(spec, credible) : BEHAVIOURS.honest(spec, credible)),
};

/** What a contributor in `role` does with `spec`; `credible` is whether the market counts it credible now. */
export function work(role: ContributorRole, spec: ShardSpec, credible: boolean): Work {
  return BEHAVIOURS[role](spec, credible);
}

/** Whether saboteurs of `kind` are clients rather than contributors. */
export function isClientKind(kind: SaboteurKind): kind is 'freeloaders' {
  return kind === 'freeloaders';
}
