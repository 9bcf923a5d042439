/**
 * What a contributor keeps of its pipeline stage leases: their packed outputs (activations), until the next stage
 * has them. Bounded in bytes, entries and time: past MAX_STORE_BYTES or MAX_ENTRIES the oldest go first, and
 * anything older than ENTRY_TTL_MS goes; an output that went is recomputed upstream (the puller reports the source
 * lost). Who may read an entry: the job's client, and peers the coordinator named in a `serve` push (a grant may
 * arrive before the output is stored; such early grants are bounded too).
 */
import type { TensorSpec } from '../protocol/tensor.ts';

/** Bytes of outputs kept at most. */
export const MAX_STORE_BYTES = 256 * 1024 * 1024;
/** Outputs kept at most. */
export const MAX_ENTRIES = 1024;
/** Milliseconds an output is kept at most. */
export const ENTRY_TTL_MS = 10 * 60_000;
/** Peers one output may be served to. */
export const MAX_GRANTS = 8;
/** Grants kept for outputs not stored yet, and for how long. */
const MAX_EARLY_GRANTS = 1024;
const EARLY_GRANT_TTL_MS = 60_000;

/** One kept output. */
export interface StoredOutput {
  leaseId: string;
  jobId: string;
  client: string;
  outputHash: string;
  bytes: Uint8Array;
  specs: TensorSpec[];
  storedAt: number;
  grants: Set<string>;
}

/** Pipeline outputs this contributor keeps for the next stage. */
export class ActivationStore {
  readonly #entries = new Map<string, StoredOutput>();
  readonly #early = new Map<string, { peers: Set<string>; at: number }>();
  readonly #waiters = new Set<() => void>();
  #bytes = 0;

  constructor(
    readonly limits: { maxBytes: number; maxEntries: number; ttlMs: number } = { maxBytes: MAX_STORE_BYTES, maxEntries: MAX_ENTRIES, ttlMs: ENTRY_TTL_MS },
    private readonly now: () => number = Date.now,
  ) {}

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Outputs held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Keeps an output (replacing one of the same lease); evicts the oldest past the bounds. False if it cannot fit at all. */
  put(entry: Omit<StoredOutput, 'storedAt' | 'grants'>): boolean {
    this.#sweep();
    if (entry.bytes.byteLength > this.limits.maxBytes) return false;
    this.#drop(entry.leaseId);
    const early = this.#early.get(entry.leaseId);
    this.#early.delete(entry.leaseId);
    const stored: StoredOutput = { ...entry, storedAt: this.now(), grants: new Set([...(early?.peers ?? [])].slice(0, MAX_GRANTS)) };
    this.#entries.set(entry.leaseId, stored);
    this.#bytes += entry.bytes.byteLength;
    for (const [id] of this.#entries) {
      if (this.#bytes <= this.limits.maxBytes && this.#entries.size <= this.limits.maxEntries) break;
      this.#drop(id);
    }
    this.#wake();
    return this.#entries.has(entry.leaseId);
  }

  /** The coordinator lets `peer` pull the output of `leaseId` (stored now or later). */
  grant(leaseId: string, peer: string): void {
    const entry = this.#entries.get(leaseId);
    if (entry) {
      if (entry.grants.size < MAX_GRANTS) entry.grants.add(peer);
    } else {
      this.#sweepEarly();
      let early = this.#early.get(leaseId);
      if (!early) {
        if (this.#early.size >= MAX_EARLY_GRANTS) return;
        this.#early.set(leaseId, (early = { peers: new Set(), at: this.now() }));
      }
      if (early.peers.size < MAX_GRANTS) early.peers.add(peer);
    }
    this.#wake();
  }

  /** Drops outputs the next stage has. */
  forget(leaseIds: readonly string[]): void {
    for (const id of leaseIds) {
      this.#drop(id);
      this.#early.delete(id);
    }
  }

  /** The output of `leaseId` if `peer` may read it (its job's client, or granted), else undefined. */
  readable(leaseId: string, peer: string): StoredOutput | undefined {
    this.#sweep();
    const entry = this.#entries.get(leaseId);
    return entry && (entry.client === peer || entry.grants.has(peer)) ? entry : undefined;
  }

  /** Waits up to `ms` for `leaseId` to become readable by `peer` (the grant and the output race the pull). */
  async waitReadable(leaseId: string, peer: string, ms: number): Promise<StoredOutput | undefined> {
    const deadline = this.now() + ms;
    for (;;) {
      const entry = this.readable(leaseId, peer);
      const left = deadline - this.now();
      if (entry || left <= 0) return entry;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Drops everything (the contributor stopped). */
  clear(): void {
    this.#entries.clear();
    this.#early.clear();
    this.#bytes = 0;
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  #drop(leaseId: string): void {
    const entry = this.#entries.get(leaseId);
    if (!entry) return;
    this.#entries.delete(leaseId);
    this.#bytes -= entry.bytes.byteLength;
  }

  #sweep(): void {
    const oldest = this.now() - this.limits.ttlMs;
    for (const [id, e] of this.#entries) {
      if (e.storedAt > oldest) break; // insertion order is age order
      this.#drop(id);
    }
  }

  #sweepEarly(): void {
    const oldest = this.now() - EARLY_GRANT_TTL_MS;
    for (const [id, g] of this.#early) {
      if (g.at > oldest) break;
      this.#early.delete(id);
    }
  }
}
