/**
 * The contributor's side of the exact-match result cache: which outputs it keeps, and answering a repeated
 * shard from them. An output it claimed is held in memory (provisional) until the coordinator's `credited` push
 * for that lease says it was paid, and only then written to the result store (src/storage/result-store.ts): an
 * output that was outvoted, revoked or never paid is dropped and never stored. Outputs that leave the store
 * (evicted to fit, or corrupt) are reported to the coordinator (`evicted`), batched, so it stops naming this
 * contributor as their holder.
 *
 * Bounds: MAX_PROVISIONAL outputs and PROVISIONAL_BYTES bytes in memory (oldest dropped), each for at most
 * PROVISIONAL_MS; at most MAX_UNREPORTED eviction reports waiting to be sent (older ones dropped: a holder that
 * cannot answer declines with 'not-cached' and is forgotten then).
 */
import { resultKey } from '../core/result-key.ts';
import type { ContributorLease } from '../protocol/coordinator.ts';
import { MAX_EVICTED } from '../protocol/coordinator.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import type { TensorSpec } from '../protocol/tensor.ts';
import type { ResultStore, StoredOutput } from '../storage/result-store.ts';

/** Claimed outputs held in memory until paid, at most. */
export const MAX_PROVISIONAL = 64;
/** Bytes of claimed outputs held in memory until paid, at most. */
export const PROVISIONAL_BYTES = 64 * 1024 * 1024;
/** Milliseconds a claimed output waits for its payment before it is dropped. */
export const PROVISIONAL_MS = 5 * 60_000;
/** Evicted output hashes waiting to be reported, at most. */
export const MAX_UNREPORTED = 4096;
/** Milliseconds eviction reports gather before they are sent. */
const REPORT_DELAY_MS = 250;

/** What a lease for a shard says: enough to key its output. */
export interface KeyedLease {
  lease: Pick<ContributorLease, 'leaseId' | 'cached'>;
  kernel: KernelSpec;
  spec: ShardSpec;
}

/** The result store's surface the keeper uses (src/storage/result-store.ts). */
export type KeeperStore = Pick<ResultStore, 'get' | 'put' | 'bounds'>;

interface Provisional {
  key: Promise<string>;
  outputHash: string;
  bytes: ArrayBuffer;
  outputs: TensorSpec[];
  timer: ReturnType<typeof setTimeout>;
}

/** Keeps a contributor's verified outputs and finds them for cached leases. */
export class ResultKeeper {
  readonly #store: KeeperStore | undefined;
  readonly #report: (outputs: string[]) => Promise<unknown>;
  readonly #provisional = new Map<string, Provisional>();
  #provisionalBytes = 0;
  readonly #unreported = new Set<string>();
  #reportTimer: ReturnType<typeof setTimeout> | undefined;
  /** Outputs written to the store on payment (tests and stats). */
  stored = 0;

  /** `store`: where paid outputs go (none: nothing is kept); `report`: sends an `evicted` frame. */
  constructor(store: KeeperStore | undefined, report: (outputs: string[]) => Promise<unknown>) {
    this.#store = store;
    this.#report = report;
  }

  /** The store's eviction callback: queues the hashes for the next report. */
  readonly evicted = (hashes: string[]): void => {
    for (const h of hashes) {
      this.#unreported.delete(h);
      this.#unreported.add(h);
    }
    while (this.#unreported.size > MAX_UNREPORTED) this.#unreported.delete(this.#unreported.values().next().value!);
    this.#reportTimer ??= setTimeout(() => this.#flush(), REPORT_DELAY_MS);
  };

  /**
   * The stored output a cached lease asks for, checked (store's `get`); undefined when this contributor no longer
   * keeps it, or keeps another output for the key. Not-yet-paid outputs of the same key count too.
   */
  async lookup(assign: KeyedLease): Promise<StoredOutput | undefined> {
    const want = assign.lease.cached;
    if (want === undefined) return undefined;
    const key = await resultKey(assign.kernel, assign.spec);
    for (const p of [...this.#provisional.values()]) {
      if (p.outputHash === want && (await p.key) === key) return { outputHash: want, bytes: p.bytes, outputs: p.outputs };
    }
    const found = await this.#store?.get(key).catch(() => undefined);
    return found?.outputHash === want ? found : undefined;
  }

  /**
   * A result this contributor is about to claim: held until `credited` (then stored) or `dropped`. Called before
   * the claim leaves, so the payment cannot overtake it.
   */
  claimed(assign: KeyedLease, outputHash: string, bytes: ArrayBuffer, outputs: readonly TensorSpec[]): void {
    if (!this.#store || bytes.byteLength > Math.min(PROVISIONAL_BYTES, this.#store.bounds.maxBytes)) return;
    const { leaseId } = assign.lease;
    const key = resultKey(assign.kernel, assign.spec);
    key.catch(() => {});
    this.dropped(leaseId);
    const timer = setTimeout(() => this.dropped(leaseId), PROVISIONAL_MS);
    this.#provisional.set(leaseId, { key, outputHash, bytes, outputs: outputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims] })), timer });
    this.#provisionalBytes += bytes.byteLength;
    while (this.#provisional.size > MAX_PROVISIONAL || this.#provisionalBytes > PROVISIONAL_BYTES) this.dropped(this.#provisional.keys().next().value!);
  }

  /** The lease was paid: its output goes to the store. */
  async credited(leaseId: string): Promise<void> {
    const p = this.#provisional.get(leaseId);
    if (!p || !this.#store) return;
    // Held in memory until written, so a cached lease arriving meanwhile still finds it.
    if (await p.key.then((key) => this.#store!.put(key, p.outputHash, p.bytes, p.outputs)).catch(() => false)) this.stored++;
    if (this.#provisional.get(leaseId) === p) this.dropped(leaseId);
  }

  /** The lease ended unpaid (revoked, rejected) or its wait ran out: its output is forgotten. */
  dropped(leaseId: string): void {
    const p = this.#provisional.get(leaseId);
    if (!p) return;
    clearTimeout(p.timer);
    this.#provisional.delete(leaseId);
    this.#provisionalBytes -= p.bytes.byteLength;
  }

  /** Forgets what is held in memory and stops reporting (the contributor stopped). */
  dispose(): void {
    for (const id of [...this.#provisional.keys()]) this.dropped(id);
    clearTimeout(this.#reportTimer);
    this.#reportTimer = undefined;
    this.#unreported.clear();
  }

  #flush(): void {
    this.#reportTimer = undefined;
    const all = [...this.#unreported];
    this.#unreported.clear();
    for (let i = 0; i < all.length; i += MAX_EVICTED) this.#report(all.slice(i, i + MAX_EVICTED)).catch(() => {});
  }
}
