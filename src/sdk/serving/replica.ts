/**
 * One serving lease on the contributor's side: keeps the service's model loaded, renews the lease while it
 * runs, and answers the service's payers. A request (`infer` + its inputs blob) is accepted only from a payer
 * the coordinator named, within the service's maxBatch and the request size limit, while that payer's
 * unreceipted work stays within CREDIT_ITEMS, and while the payer's share of the queue has room; otherwise it
 * gets a `fail` (not allowed, malformed) or a `busy` with a retry-after (full, unpaid, closing). Accepted
 * requests go through the continuous batcher (batcher.ts); each answer is its outputs blob plus a signed
 * `answer` naming the input's and output's hashes, the evidence a spot-check dispute needs.
 */
import { sha256Hex } from '../../core/hash.ts';
import type { Identity } from '../../core/identity.ts';
import { unpackTensors } from '../../core/sharding.ts';
import { WORK_UNITS_PER_ITEM } from '../../core/cost.ts';
import type { CoordinatorClient, PushFrame } from '../../mesh/coordinator-client.ts';
import type { PeerLink } from '../../mesh/peer-link.ts';
import { signedText } from '../../protocol/coordinator.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { AnswerClaim } from '../../protocol/serving.ts';
import { type TensorData, type TensorSpec, tensorBytes } from '../../protocol/tensor.ts';
import type { ModelCache } from '../../storage/model-cache.ts';
import type { LeaseCompute } from '../lease-runner.ts';
import { packOwned } from '../owned-tensors.ts';
import { mergeInputs, requestItems, shapeKey, splitOutputs } from './batch-tensors.ts';
import { type Busy, ContinuousBatcher } from './batcher.ts';
import { sendInTurn } from './link-sends.ts';

/** The `serve-assign` push. */
export type ServeAssign = Extract<PushFrame, { type: 'serve-assign' }>;

/** Items a payer may have answered beyond what its receipts paid (then it gets 'busy: unpaid'). */
export const CREDIT_ITEMS = 256;
/** Items one payer may have queued or arriving at once. */
export const PER_CLIENT_ITEMS = 64;
/** Items queued at most over all payers. */
export const QUEUE_ITEMS = 512;
/** Longest wait for a request's inputs after its `infer` frame (ms). */
const INPUTS_WAIT_MS = 15_000;

/** What a replica uses. */
export interface ReplicaContext {
  pool: Pick<LeaseCompute, 'run'>;
  cache: ModelCache;
  coordinator: CoordinatorClient;
  identity: Identity;
}

/** One request waiting in the batcher. */
interface Pending {
  client: string;
  inputs: TensorData[];
  items: number;
  key: string;
}

/** One request's outputs and the items of the batch it ran in. */
interface Answered {
  outputs: TensorData[];
  batch: number;
}

/** What a replica has done (for its contributor's page and the bench). */
export interface ReplicaStats {
  requests: number;
  items: number;
  batches: number;
  largestBatch: number;
  refused: number;
  queued: number;
}

/** A serving lease being served. */
export class ServeReplica {
  readonly assign: ServeAssign;
  readonly #ctx: ReplicaContext;
  readonly #payers: Set<string>;
  /** Per payer: items answered and items its receipts paid for. */
  readonly #credit = new Map<string, { answered: number; paid: number }>();
  /** Per payer: requests whose inputs are still arriving. */
  readonly #arriving = new Map<string, number>();
  readonly #batcher: ContinuousBatcher<Pending, Answered>;
  readonly #model: Promise<ArrayBuffer>;
  #sessionLoaded = false;
  #renew: ReturnType<typeof setInterval> | undefined;
  #stopped: Error | undefined;
  /** Called once the replica stops (revoked, expired, or its contributor stopped). */
  onStop: ((reason: string) => void) | undefined;

  constructor(ctx: ReplicaContext, assign: ServeAssign, loadModel: (assign: ServeAssign) => Promise<ArrayBuffer>) {
    this.#ctx = ctx;
    this.assign = assign;
    this.#payers = new Set(assign.payers);
    this.#model = loadModel(assign);
    this.#model.catch((err: Error) => this.stop(`its model could not be loaded: ${err.message}`, true));
    this.#batcher = new ContinuousBatcher<Pending, Answered>({
      maxBatch: assign.maxBatch,
      maxWaitMs: assign.maxWaitMs,
      maxQueue: QUEUE_ITEMS,
      maxPerClient: PER_CLIENT_ITEMS,
      items: (p) => p.items,
      key: (p) => p.key,
      run: (batch) => this.#run(batch),
    });
    this.#renew = setInterval(() => void this.#renewLease(), Math.max(250, assign.renewMs));
  }

  /** The lease id. */
  get leaseId(): string {
    return this.assign.lease.leaseId;
  }

  /** Counters of the batcher. */
  get stats(): ReplicaStats {
    const s = this.#batcher.stats;
    return { requests: s.requests, items: s.items, batches: s.batches, largestBatch: s.largestBatch, refused: s.refused, queued: s.queued };
  }

  /** Whether it stopped. */
  get stopped(): boolean {
    return this.#stopped !== undefined;
  }

  /** A payer joined the service. */
  addPayer(peerId: string): void {
    this.#payers.add(peerId);
  }

  /** A receipt of `payer` paid this lease up to `workUnits` in all. */
  credited(payer: string, workUnits: number): void {
    const c = this.#creditOf(payer);
    c.paid = Math.max(c.paid, Math.floor(workUnits / WORK_UNITS_PER_ITEM));
  }

  /** Stops serving: queued requests are told to go elsewhere; `leave` tells the coordinator too. */
  stop(reason: string, leave = false): void {
    if (this.#stopped) return;
    this.#stopped = new MeshError('cancelled', `Cannot serve lease ${this.leaseId} any more: ${reason}`);
    clearInterval(this.#renew);
    this.#batcher.close(this.#stopped);
    if (leave) this.#ctx.coordinator.request({ type: 'serve-leave', leaseId: this.leaseId, reason: reason.slice(0, 200) }).catch(() => {});
    this.onStop?.(reason);
  }

  /** Takes a request from `link` (its `infer` frame arrived; the inputs blob follows). Never throws. */
  accept(link: PeerLink, frame: { leaseId: string; inputs: TensorSpec[] }): void {
    const req = frame.leaseId;
    const client = link.remote;
    if (!this.#payers.has(client)) {
      link.sendFail(req, new MeshError('unauthorized', `Cannot serve ${client} on lease ${this.leaseId} as it does not pay for this service`));
      return;
    }
    let items: number;
    try {
      items = requestItems(frame.inputs, this.assign.maxBatch);
    } catch (err) {
      link.sendFail(req, err);
      return;
    }
    const credit = this.#creditOf(client);
    const busy = this.#stopped
      ? { reason: 'closed' as const, retryAfterMs: 0 }
      : credit.answered - credit.paid + items > CREDIT_ITEMS
      ? { reason: 'unpaid' as const, retryAfterMs: 250 }
      : (this.#arriving.get(client) ?? 0) + this.#batcher.queuedFor(client) + items > PER_CLIENT_ITEMS
      ? { reason: 'client-queue-full' as const, retryAfterMs: this.#batcher.retryAfterMs() }
      : undefined;
    if (busy) {
      this.#sendBusy(link, req, busy);
      return;
    }
    const inbox = link.lease(req); // opened now: the inputs blob is announced right after this frame
    this.#arriving.set(client, (this.#arriving.get(client) ?? 0) + items);
    void (async () => {
      let inputHash: string;
      let inputs: TensorData[];
      try {
        const blob = await inbox.nextBlob('inputs', INPUTS_WAIT_MS);
        const want = frame.inputs.reduce((n, t) => n + tensorBytes(t), 0);
        if (blob.bytes.byteLength !== want) throw new MeshError('bad-input', `Cannot serve a request whose inputs need ${want} bytes: current length is ${blob.bytes.byteLength}`);
        inputHash = blob.sha256;
        inputs = unpackTensors(blob.bytes, frame.inputs);
      } catch (err) {
        link.sendFail(req, err);
        link.endLease(req);
        return;
      } finally {
        this.#arriving.set(client, (this.#arriving.get(client) ?? items) - items);
      }
      const queued = this.#batcher.submit(client, { client, inputs, items, key: shapeKey(frame.inputs) });
      if (queued.busy) {
        this.#sendBusy(link, req, queued.busy);
        return;
      }
      try {
        const { outputs, batch } = await queued.result;
        await this.#answer(link, req, inputHash, outputs, items, batch);
      } catch (err) {
        if (err === this.#stopped) this.#sendBusy(link, req, { reason: 'closed', retryAfterMs: 0 });
        else link.sendFail(req, err);
      } finally {
        link.endLease(req);
      }
    })();
  }

  #creditOf(payer: string): { answered: number; paid: number } {
    let c = this.#credit.get(payer);
    if (!c) this.#credit.set(payer, (c = { answered: 0, paid: 0 }));
    return c;
  }

  #sendBusy(link: PeerLink, req: string, busy: Busy | { reason: 'unpaid' | 'closed'; retryAfterMs: number }): void {
    try {
      link.sendControl({ type: 'busy', leaseId: req, reason: busy.reason, retryAfterMs: Math.min(60_000, Math.max(0, Math.round(busy.retryAfterMs))) });
    } catch {
      // The link closed: the payer retries elsewhere anyway.
    }
    link.endLease(req);
  }

  /** Runs one batch on the pool; the model goes along until the pool's worker holds a session of it. */
  async #run(batch: readonly Pending[]): Promise<Answered[]> {
    const model = await this.#model;
    const kernel = this.assign.kernel;
    const inputs = mergeInputs(batch.map((p) => p.inputs));
    const task = (withModel: boolean) => ({
      kind: 'onnx' as const,
      modelHash: kernel.model.hash,
      ...(withModel ? { model: model.slice(0) } : {}), // the pool takes what it is given: a copy each time
      inputs: inputs.map((t) => ({ ...t, data: t.data.slice(0) })),
      outputNames: kernel.outputs,
    });
    let outputs: TensorData[];
    try {
      outputs = await this.#ctx.pool.run(task(!this.#sessionLoaded));
    } catch (err) {
      if (!this.#sessionLoaded || !(err instanceof MeshError) || err.code !== 'not-found') throw err;
      outputs = await this.#ctx.pool.run(task(true)); // the worker dropped the session: load it again
    }
    this.#sessionLoaded = true;
    const total = batch.reduce((n, p) => n + p.items, 0);
    return splitOutputs(outputs, batch.map((p) => p.items)).map((out) => ({ outputs: out, batch: total }));
  }

  async #answer(link: PeerLink, req: string, inputHash: string, outputs: TensorData[], items: number, batch: number): Promise<void> {
    const packed = packOwned(outputs);
    const outputHash = await sha256Hex(packed);
    const claim: AnswerClaim = { serviceId: this.assign.lease.serviceId, leaseId: this.leaseId, req, inputHash, outputHash };
    const signature = await this.#ctx.identity.sign(signedText('answer', claim));
    await sendInTurn(link, async () => {
      await link.sendBlob(req, 'outputs', packed, { sha256: outputHash });
      link.sendControl({
        type: 'answer',
        leaseId: req,
        outputs: outputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims] })),
        answer: { claim, key: this.#ctx.identity.publicKey, signature },
        batch: Math.max(1, Math.min(batch, this.assign.maxBatch)),
        queued: this.#batcher.stats.queued,
      });
    });
    this.#creditOf(link.remote).answered += items;
  }

  async #renewLease(): Promise<void> {
    if (this.#stopped) return;
    try {
      const s = this.#batcher.stats;
      await this.#ctx.coordinator.request({ type: 'serve-renew', leaseId: this.leaseId, queued: s.queued, served: s.requests });
    } catch (err) {
      if (err instanceof MeshError && (err.code === 'lease-expired' || err.code === 'not-found')) this.stop('the coordinator ended the lease');
      // Anything else (the coordinator is reconnecting) is retried at the next interval.
    }
  }
}
