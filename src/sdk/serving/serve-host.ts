/**
 * The contributor's serving leases: a replica (replica.ts) per `serve-assign` while the contributor is active,
 * stopped on `serve-revoke` or when the contributor stops; `serve-payer` and `serve-credited` pushes go to
 * their replica, and `infer` requests from any link to the replica they name (a request for a lease this peer
 * does not serve, or no longer does, gets `busy: closed`, so its payer tries another replica). The model comes
 * from this peer's cache or from the service's model URL, and is used only if it hashes to the service's hash.
 */
import { sha256Hex } from '../../core/hash.ts';
import type { PushFrame } from '../../mesh/coordinator-client.ts';
import type { InferRequest } from '../../mesh/peer-link.ts';
import { MeshError } from '../../protocol/errors.ts';
import { resolveModelUrl } from '../default-coordinator.ts';
import type { SessionContext } from '../session.ts';
import { type ReplicaContext, type ReplicaStats, type ServeAssign, ServeReplica } from './replica.ts';

/** Serving leases one contributor holds at most (each takes a slot of its capacity at the coordinator anyway). */
const MAX_REPLICAS = 16;

/** What the host reads from its contributor. */
export interface ServeHostDeps {
  ctx: SessionContext;
  /** The pool and cache while the contributor is active; undefined when it is not taking work. */
  compute(): Pick<ReplicaContext, 'pool' | 'cache'> | undefined;
  /** A receipt paid this peer (the contributor's earnings). */
  credited(amount: number, balance: number): void;
}

/** Detail of the contributor's 'serve' event. */
export interface ServeEventDetail {
  leaseId: string;
  serviceId: string;
  phase: 'start' | 'stop';
  reason?: string;
}

/** The serving leases of one contributor. */
export class ServeHost extends EventTarget {
  readonly #deps: ServeHostDeps;
  readonly #replicas = new Map<string, ServeReplica>();

  constructor(deps: ServeHostDeps) {
    super();
    this.#deps = deps;
    const c = deps.ctx.coordinator;
    const on = <T extends PushFrame['type']>(type: T, fn: (f: Extract<PushFrame, { type: T }>) => void) =>
      c.addEventListener(type, (e) => fn((e as CustomEvent<Extract<PushFrame, { type: T }>>).detail));
    on('serve-assign', (f) => this.#onAssign(f));
    on('serve-revoke', (f) => this.#replicas.get(f.leaseId)?.stop(`revoked by the coordinator (${f.reason})`));
    on('serve-payer', (f) => this.#replicas.get(f.leaseId)?.addPayer(f.payer));
    on('serve-credited', (f) => {
      this.#replicas.get(f.leaseId)?.credited(f.payer, f.workUnits);
      this.#deps.credited(f.amount, f.balance);
    });
    deps.ctx.network.addEventListener('infer', (e) => this.#onInfer((e as CustomEvent<InferRequest>).detail));
  }

  /** Each replica's counters, by lease id. */
  get stats(): Record<string, ReplicaStats> {
    return Object.fromEntries([...this.#replicas].map(([id, r]) => [id, r.stats]));
  }

  /** Stops every replica (the contributor stopped or paused). */
  stopAll(reason: string): void {
    for (const r of [...this.#replicas.values()]) r.stop(reason);
  }

  #onAssign(assign: ServeAssign): void {
    const compute = this.#deps.compute();
    const { leaseId, serviceId } = assign.lease;
    if (!compute || this.#replicas.has(leaseId) || this.#replicas.size >= MAX_REPLICAS) {
      this.#deps.ctx.coordinator.request({ type: 'serve-leave', leaseId, reason: compute ? 'too many serving leases' : 'not contributing' }).catch(() => {});
      return;
    }
    const ctx: ReplicaContext = { ...compute, coordinator: this.#deps.ctx.coordinator, identity: this.#deps.ctx.identity };
    const replica = new ServeReplica(ctx, assign, (a) => this.#loadModel(a, compute.cache));
    replica.onStop = (reason) => {
      if (this.#replicas.get(leaseId) === replica) this.#replicas.delete(leaseId);
      this.dispatchEvent(new CustomEvent<ServeEventDetail>('serve', { detail: { leaseId, serviceId, phase: 'stop', reason } }));
    };
    this.#replicas.set(leaseId, replica);
    this.dispatchEvent(new CustomEvent<ServeEventDetail>('serve', { detail: { leaseId, serviceId, phase: 'start' } }));
  }

  #onInfer({ link, frame }: InferRequest): void {
    const replica = this.#replicas.get(frame.lease);
    if (replica && !replica.stopped) {
      replica.accept(link, frame);
      return;
    }
    try {
      link.sendControl({ type: 'busy', leaseId: frame.leaseId, reason: 'closed', retryAfterMs: 0 });
    } catch {
      // The link closed meanwhile.
    }
  }

  /** The service's model: from the cache, else from its URL; either way it must hash to the service's hash. */
  async #loadModel(assign: ServeAssign, cache: ReplicaContext['cache']): Promise<ArrayBuffer> {
    const { hash, url, name } = assign.kernel.model;
    const cached = await cache.get(hash).catch(() => undefined);
    if (cached) return cached.bytes;
    if (url === undefined) throw new MeshError('not-found', `Cannot load model ${hash} as the service names no URL and it is not cached here`);
    const res = await fetch(resolveModelUrl(url, this.#deps.ctx.base));
    if (!res.ok) throw new MeshError('not-found', `Cannot load model ${hash} from ${url}: HTTP ${res.status}`);
    const bytes = await res.arrayBuffer();
    const got = await sha256Hex(bytes);
    if (got !== hash) throw new MeshError('hash-mismatch', `Cannot use the model at ${url} as it must hash to ${hash}: current hash is ${got}`);
    await cache.put(hash, bytes.slice(0), name).catch(() => false);
    return bytes;
  }
}
