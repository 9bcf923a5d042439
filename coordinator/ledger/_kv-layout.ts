/** How the KV ledger lays out its data: keys, journal records, balance values (kv-ledger.ts). */
import { MeshError } from '../../src/protocol/errors.ts';
import type { LedgerEntry } from './types.ts';

/** Movements one commit may journal; seq = commit version * this + movement index. */
const MOVES_PER_COMMIT = 4;

export const K = {
  balance: (account: string): Deno.KvKey => ['balance', account],
  account: (peerId: string): Deno.KvKey => ['account', peerId],
  escrow: (jobId: string): Deno.KvKey => ['escrow', jobId],
  receipt: (receiptId: string): Deno.KvKey => ['receipt', receiptId],
  link: (ref: string): Deno.KvKey => ['link', ref],
  minted: ['meta', 'minted'] as Deno.KvKey,
  accounts: ['meta', 'accounts'] as Deno.KvKey,
  grants: (network: string, day: string): Deno.KvKey => ['grants', network, day],
  // Summed by every commit (sums never conflict) so summary() can tell whether its reads saw one state.
  commits: ['meta', 'commits'] as Deno.KvKey,
};

export interface Move {
  i: number;
  from: string;
  to: string;
  amount: number;
}
export interface EntryRecord {
  at: number;
  kind: LedgerEntry['kind'];
  ref: string;
  moves: Move[];
}

/** Adds a credit as a commutative sum (no check needed); a zero credit writes nothing, creating no empty account. */
export function credit(op: Deno.AtomicOperation, account: string, amount: number): void {
  if (amount > 0) op.sum(K.balance(account), BigInt(amount));
}

export function u64(n: number): Deno.KvU64 {
  return new Deno.KvU64(BigInt(n));
}

export function toNumber(e: Deno.KvEntryMaybe<Deno.KvU64>): number {
  if (e.value === null) return 0;
  if (!(e.value instanceof Deno.KvU64)) {
    throw new MeshError('internal', `Cannot read balance ${String(e.key[1])} as it is not a KvU64: current value is ${String(e.value)}`);
  }
  return Number(e.value.value);
}

/** Monotonic entry number: the commit's 64-bit version times MOVES_PER_COMMIT plus the movement's index. */
export function seqOf(versionstamp: string, index: number): number {
  return Number(BigInt(`0x${versionstamp.slice(0, 16)}`) * BigInt(MOVES_PER_COMMIT) + BigInt(index));
}
