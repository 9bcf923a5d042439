/**
 * The two ends of moving a pipeline activation peer to peer: `servePull` answers a `pull` for an output this
 * contributor keeps (ActivationStore) with the outputs blob and a `done` frame naming its tensors, or a `fail`;
 * `pullOutputs` asks for one and checks what arrives against the hash the coordinator's verdict settled on (and,
 * for a downstream lease, the tensors against the inputs its shard names). A downstream lease pulls its inputs this
 * way; a client pulls two replicas' outputs this way when it must compare them within its tolerance.
 *
 * Hostile pulls: a pull for an output not kept here, or by a peer neither the job's client nor granted by the
 * coordinator, waits at most GRANT_WAIT_MS (the grant may still be on its way) and then fails 'not-found' or
 * 'unauthorized'; at most MAX_SERVING serves run at once ('rate-limited' past that) and one peer may pull one
 * output at most MAX_PULLS_PER_PEER times (a replay past that is refused).
 */
import type { PeerLink, PullRequest } from '../mesh/peer-link.ts';
import { MeshError } from '../protocol/errors.ts';
import { checkPulledSpecs, type PipeSource } from '../protocol/pipeline.ts';
import type { TensorSpec } from '../protocol/tensor.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { type ActivationStore, MAX_ENTRIES, MAX_GRANTS } from './activation-store.ts';

/** Longest wait for a grant or the output itself before a pull is refused. */
export const GRANT_WAIT_MS = 5_000;
/** Serves running at once. */
export const MAX_SERVING = 4;
/** Pulls of one output by one peer. */
export const MAX_PULLS_PER_PEER = 4;
/**
 * Pull counts kept at once: one per (output kept, reader allowed), so every live count fits. Past it, counts
 * of outputs a reader can no longer read are dropped; if none can be, the pull is refused ('rate-limited'):
 * a count is never forgotten while its output is still readable, so the replay cap cannot be reset by a flood.
 */
export const MAX_PULL_RECORDS = MAX_ENTRIES * (MAX_GRANTS + 1);
/** Longest wait for a pulled output to arrive. */
export const PULL_TIMEOUT_MS = 60_000;

/** Answers `pull` requests from the outputs in `store`. */
export class ActivationServer {
  #serving = 0;
  readonly #pulls = new Map<string, number>();

  constructor(private readonly store: ActivationStore, private readonly grantWaitMs = GRANT_WAIT_MS, private readonly maxRecords = MAX_PULL_RECORDS) {}

  /** Pull counts kept now (tests: bounded by `maxRecords`). */
  get records(): number {
    return this.#pulls.size;
  }

  /** Serves one pull; never throws (the requester hears `fail`). */
  async serve({ link, frame }: PullRequest): Promise<void> {
    const { leaseId } = frame;
    try {
      if (frame.v !== PROTOCOL_VERSION) {
        throw new MeshError('unsupported-version', `Cannot serve the outputs of lease ${leaseId} as peers must speak protocol ${PROTOCOL_VERSION}: current value is ${frame.v}`);
      }
      if (this.#serving >= MAX_SERVING) throw new MeshError('rate-limited', `Cannot serve the outputs of lease ${leaseId} now: ${this.#serving} serves are running`);
      const key = `${leaseId}\u0000${link.remote}`;
      const count = this.#pulls.get(key) ?? 0;
      if (count >= MAX_PULLS_PER_PEER) throw new MeshError('rate-limited', `Cannot serve the outputs of lease ${leaseId} to ${link.remote} again: it pulled them ${count} times`);
      this.#serving++;
      try {
        const entry = await this.store.waitReadable(leaseId, link.remote, this.grantWaitMs);
        if (!entry) throw this.#refusal(leaseId, link.remote);
        if (!this.#pulls.has(key) && this.#pulls.size >= this.maxRecords) this.#prune(leaseId);
        this.#pulls.set(key, count + 1);
        await link.sendBlob(leaseId, 'outputs', entry.bytes, { sha256: entry.outputHash, signal: link.closed });
        link.sendControl({ type: 'done', leaseId, outputHash: entry.outputHash, outputs: entry.specs.map((s) => ({ name: s.name, dtype: s.dtype, dims: [...s.dims] })) });
      } finally {
        this.#serving--;
      }
    } catch (err) {
      link.sendFail(leaseId, err);
    }
  }

  /** Drops the counts of outputs their reader can no longer read; refuses if every count is still live. */
  #prune(leaseId: string): void {
    for (const key of [...this.#pulls.keys()]) {
      const [lease, peer] = key.split('\u0000') as [string, string];
      if (!this.store.readable(lease, peer)) this.#pulls.delete(key);
    }
    if (this.#pulls.size >= this.maxRecords) {
      throw new MeshError('rate-limited', `Cannot serve the outputs of lease ${leaseId} now: ${this.#pulls.size} pull counts are live`);
    }
  }

  #refusal(leaseId: string, peer: string): MeshError {
    // Whether the output exists is told to nobody who may not read it.
    return new MeshError('unauthorized', `Cannot serve the outputs of lease ${leaseId} to ${peer} as this peer keeps none of them that ${peer} may read`);
  }
}

/** A pulled output: its packed bytes (hash checked) and its tensors. */
export interface PulledOutput {
  bytes: ArrayBuffer;
  specs: TensorSpec[];
}

/**
 * Pulls the output `from` names over `link` and checks it: its bytes must hash to `from.outputHash`, and its
 * tensors (when `expected` is given) must be those inputs by name and dtype, filling exactly the bytes sent.
 * Rejects with MeshError 'source-lost' on any failure: the source did not deliver what the verdict says it holds.
 */
export async function pullOutputs(link: PeerLink, from: Pick<PipeSource, 'leaseId' | 'outputHash'>, expected?: readonly Pick<TensorSpec, 'name' | 'dtype'>[], timeoutMs = PULL_TIMEOUT_MS): Promise<PulledOutput> {
  const inbox = link.lease(from.leaseId);
  try {
    link.sendControl({ type: 'pull', v: PROTOCOL_VERSION, leaseId: from.leaseId });
    const blob = await inbox.nextBlob('outputs', timeoutMs);
    const done = await inbox.nextFrame('done', timeoutMs);
    if (blob.sha256 !== from.outputHash || done.outputHash !== from.outputHash) {
      throw new MeshError('hash-mismatch', `Cannot use the outputs of lease ${from.leaseId} as they must hash to ${from.outputHash}: current hash is ${blob.sha256}`);
    }
    if (expected) checkPulledSpecs(expected, done.outputs, blob.bytes.byteLength);
    return { bytes: blob.bytes, specs: done.outputs };
  } catch (err) {
    throw new MeshError('source-lost', `Cannot pull the outputs of lease ${from.leaseId} from ${link.remote}: ${(err as Error).message}`, { cause: err });
  } finally {
    link.endLease(from.leaseId);
  }
}
