/**
 * Pipeline rules: a model split into K stages runs as K stage jobs of one client, tied by their `pipeline` field
 * (protocol/pipeline.ts). Shard i of every stage is the same micro-batch; its inputs at stage k > 0 are the output
 * of shard i at stage k - 1, which stays with the contributor that produced it and travels peer to peer.
 *
 * - Admission: a later stage names its upstream, which must be the same client's running ONNX stage job of the
 *   same pipeline, one stage earlier, with as many shards, no downstream yet, and outputs that are this stage's
 *   inputs by name; its shards carry PENDING_INPUT_HASH until the coordinator knows the real hash.
 * - Readiness: a later stage's shard is not matchable before its upstream shard is decided; the verdict's hash
 *   becomes its `inputHash` (the contributor checks the pulled bytes against it).
 * - Placement: a lease of a later stage names where to pull its inputs (a contributor holding a run whose claim
 *   is the verdict's hash), and that contributor is told to serve them to the lease's contributor (`serve`). Stage
 *   jobs prefer contributors already running that stage (its session is loaded) and avoid those running another
 *   stage of the same pipeline (the point is models bigger than one browser).
 * - Churn: when no holder of a needed upstream output is left (or the downstream contributor reports the source
 *   lost), the upstream shard is reopened and computed again; the lost run keeps what it earned, so nothing is
 *   paid twice. A stage job stays open while its downstream runs, so its shards can be reopened.
 * - End: when the last stage decides shard i, holders of shard i's intermediate outputs may drop them (`forget`);
 *   a stage that ends any other way than done ends the whole pipeline the same way.
 */
import type { ClientFrameOf, JobSpec, ServerFrame } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { type PipeAssign, PENDING_INPUT_HASH } from '../../src/protocol/pipeline.ts';
import type { Logger } from '../log.ts';
import type { FinalState, Job, Run } from './job.ts';
import { busy, type Contributor } from './contributors.ts';

/** How a stage job's runs may be placed in one round (see `Pipelines.gate`). */
export interface StageGate {
  /** Contributors running other stages of the pipeline: kept off this stage while anyone else could take it. */
  exclude: ReadonlySet<string>;
  /** Runs to offer at most this round (the stage's holders' free slots), when it must not spread further. */
  limit?: number;
}

/** Score bonus for a contributor already running a stage (its session is warm), in matcher score units. */
export const STAGE_STICKY_BONUS = 0.5;
/** Score penalty for a contributor running another stage of the same pipeline. */
export const OTHER_STAGE_PENALTY = 0.6;
/** Lease ids per `forget` push. */
const FORGET_BATCH = 256;

/** What the rules need of the market. */
export interface PipelineDeps {
  /** The running job with this id, if any. */
  job(jobId: string): Job | undefined;
  /** Whether a contributor is registered (can still serve what it keeps). */
  present(peerId: string): boolean;
  /** The active contributors (the registry's index), and one by id. */
  active(): Iterable<Contributor>;
  contributor(peerId: string): Contributor | undefined;
  notify(peerId: string, frame: ServerFrame): boolean;
  /** Re-judges shard `i` of `job` after a change. */
  afterChange(job: Job, i: number): void;
  schedule(): void;
  finishLater(job: Job, state: FinalState): void;
  failJob(job: Job, message: string): void;
  log: Logger;
}

/** The pipeline rules of one market. */
export class Pipelines {
  constructor(private readonly d: PipelineDeps) {}

  /** Checks a stage job before admission; returns its upstream job (undefined for the first stage). */
  admit(client: string, spec: JobSpec): Job | undefined {
    const p = spec.pipeline;
    if (!p) return undefined;
    if (spec.kernel.kind !== 'onnx') {
      throw new MeshError('invalid-message', `Cannot accept a pipeline stage as its kernel must be 'onnx': current kind is '${spec.kernel.kind}'`);
    }
    if (p.upstream === undefined) return undefined;
    const up = this.d.job(p.upstream);
    if (!up || up.state !== 'running') throw new MeshError('not-found', `Cannot accept pipeline stage ${p.stage} as its upstream job ${p.upstream} is not running`);
    if (up.client !== client) throw new MeshError('unauthorized', `Cannot accept pipeline stage ${p.stage} as its upstream job ${p.upstream} belongs to another client`);
    const q = up.spec.pipeline;
    if (!q || q.id !== p.id || q.stages !== p.stages || q.stage !== p.stage - 1) {
      throw new MeshError('invalid-message', `Cannot accept pipeline stage ${p.stage} of '${p.id}' as job ${p.upstream} must be stage ${p.stage - 1} of it: current value is ${q ? `stage ${q.stage} of '${q.id}' (${q.stages} stages)` : 'no pipeline'}`);
    }
    if (up.downstream) throw new MeshError('conflict', `Cannot accept pipeline stage ${p.stage} as job ${p.upstream} already feeds job ${up.downstream.jobId}`);
    if (up.shards.length !== spec.shards.length) {
      throw new MeshError('invalid-message', `Cannot accept pipeline stage ${p.stage} as it must have ${up.shards.length} shards like its upstream: current count is ${spec.shards.length}`);
    }
    const names = up.spec.kernel.kind === 'onnx' ? up.spec.kernel.outputs : [];
    spec.shards.forEach((s, i) => {
      if (s.inputHash !== PENDING_INPUT_HASH) {
        throw new MeshError('invalid-message', `Cannot accept pipeline stage ${p.stage} as 'job.shards[${i}].inputHash' must be ${PENDING_INPUT_HASH} (the coordinator fills it): current value is ${s.inputHash}`);
      }
      const got = s.inputs.map((t) => t.name);
      if (got.length !== names.length || got.some((n, k) => n !== names[k])) {
        throw new MeshError('invalid-message', `Cannot accept pipeline stage ${p.stage} as shard ${i}'s inputs must be its upstream's outputs [${names}]: current value is [${got}]`);
      }
    });
    return up;
  }

  /** Ties an admitted stage job to its upstream. */
  link(job: Job, up: Job | undefined): void {
    if (!up) return;
    job.upstream = up;
    up.downstream = job;
    // Upstream shards decided before this stage arrived are ready now.
    up.shards.forEach((s, i) => {
      if (s.done && s.acceptedHash !== undefined) this.#ready(job, i, s.acceptedHash);
    });
  }

  /**
   * The pipeline part of a new lease of shard `i` of `job`: whether to keep outputs, where to pull inputs. Null
   * when the inputs' holders are all gone: the upstream shard was reopened and this lease must not start.
   */
  assignPart(job: Job, i: number, contributor: string): PipeAssign | null | undefined {
    if (!job.spec.pipeline) return undefined;
    const part: PipeAssign = {};
    if (job.downstream || job.spec.pipeline.stage < job.spec.pipeline.stages - 1) part.keep = true;
    if (job.upstream) {
      const from = this.#source(job.upstream, i);
      if (!from) {
        this.#lostInputs(job, i, 'no holder of its inputs is online');
        return null;
      }
      part.from = { peer: from.lease.contributor, leaseId: from.lease.leaseId, outputHash: from.claim!.outputHash };
      this.d.notify(from.lease.contributor, { type: 'serve', leaseId: from.lease.leaseId, peer: contributor });
    }
    // The first placement of a stage: its other micro-batches were held back this round (matching.ts).
    // (Holders are forgotten when they leave: see `gate`, which counts the present ones only.)
    if (job.stageHolders.size === 0) this.d.schedule();
    job.stageHolders.add(contributor);
    return part;
  }

  /**
   * The downstream contributor of lease `f.leaseId` (`run`, pulling from `run.from`) reports that the source did
   * not deliver: the source run is lost and, when no other holder is left, the upstream shard is computed again.
   */
  sourceLost(job: Job, i: number, run: Run, f: ClientFrameOf<'fail'>): void {
    if (!job.upstream || run.from === undefined) {
      throw new MeshError('invalid-message', `Cannot report the source of lease ${f.leaseId} lost as it pulls no inputs`);
    }
    const src = job.upstream.shards[i]?.runs.find((r) => r.lease.leaseId === run.from);
    if (src) src.lost = true;
    this.d.log.info('pipeline source lost', { jobId: job.jobId, shard: i, leaseId: f.leaseId, from: run.from, message: f.message });
    if (!this.#source(job.upstream, i)) this.#lostInputs(job, i, `its source ${run.from} did not deliver`);
  }

  /** Shard `i` of `job` was decided on `hash`: the next stage may start on it; the last stage frees the holders. */
  decided(job: Job, i: number, hash: string | undefined): void {
    if (job.downstream && hash !== undefined) this.#ready(job.downstream, i, hash);
    if (job.upstream && !job.downstream) this.#forget(job.upstream, [i]);
    if (job.complete && !job.downstream && job.upstream) this.#closeUpstream(job.upstream);
  }

  /**
   * A complete stage stays open while a later stage of its pipeline runs or is still to come (its shards may be
   * reopened); one whose next stage never comes ends at its deadline.
   */
  holdOpen(job: Job): boolean {
    const p = job.spec.pipeline;
    if (!p || p.stage === p.stages - 1) return false;
    return job.downstream === undefined || job.downstream.state === 'running';
  }

  /** A stage job ended: a failure ends the whole pipeline alike; holders of its outputs may drop them. */
  ended(job: Job, state: FinalState): void {
    if (job.spec.pipeline && job.downstream) this.#forget(job, job.shards.map((_, i) => i));
    if (state === 'done') return;
    for (const other of [job.upstream, job.downstream]) {
      if (other && other.state === 'running') this.d.finishLater(other, state);
    }
  }

  /** Score adjustments for the contributors of a stage job: stay on a stage, avoid the pipeline's other stages. */
  affinity(job: Job): ReadonlyMap<string, number> | undefined {
    if (!job.spec.pipeline) return undefined;
    const out = new Map<string, number>();
    for (let other = job.upstream; other; other = other.upstream) for (const p of other.stageHolders) out.set(p, -OTHER_STAGE_PENALTY);
    for (let other = job.downstream; other; other = other.downstream) for (const p of other.stageHolders) out.set(p, -OTHER_STAGE_PENALTY);
    for (const p of job.stageHolders) out.set(p, (out.get(p) ?? 0) + STAGE_STICKY_BONUS);
    return out;
  }

  /**
   * Placement of a stage job's runs this round. A stage stays off contributors running another stage of its
   * pipeline (the point is models bigger than one browser) unless no other contributor is there. A placed stage
   * spreads to a further contributor only when more are free than the stages still unplaced need; otherwise it
   * waits for its own contributors' free slots.
   */
  gate(job: Job): StageGate | undefined {
    const p = job.spec.pipeline;
    if (!p) return undefined;
    const others = new Set<string>();
    let placed = 0;
    const visit = (stage: Job) => {
      let any = false;
      for (const peer of stage.stageHolders) {
        if (!this.d.present(peer)) continue;
        any = true;
        // A contributor already running this stage stays eligible for it, whatever else it runs.
        if (stage !== job && !job.stageHolders.has(peer)) others.add(peer);
      }
      if (any && stage !== job) placed++;
    };
    for (let s = job.upstream; s; s = s.upstream) visit(s);
    for (let s = job.downstream; s; s = s.downstream) visit(s);
    const mine = [...job.stageHolders].flatMap((peer) => {
      const c = this.d.contributor(peer);
      return c ? [c] : [];
    });
    const unplaced = p.stages - 1 - placed;
    let outsiders = 0;
    let freeOutsiders = 0;
    for (const c of this.d.active()) {
      if (others.has(c.peerId) || job.stageHolders.has(c.peerId)) continue;
      outsiders++;
      if (busy(c).load < c.maxConcurrent) freeOutsiders++;
      if (freeOutsiders > unplaced) break;
    }
    const gate: StageGate = { exclude: outsiders > 0 || mine.length > 0 ? others : new Set() };
    if (mine.length > 0 && freeOutsiders <= unplaced) {
      gate.limit = mine.reduce((n, c) => n + (c.state === 'active' ? Math.max(0, c.maxConcurrent - busy(c).load) : 0), 0);
    }
    return gate;
  }

  /** A run of upstream shard `i` whose output is the verdict's and whose contributor is still here. */
  #source(up: Job, i: number): Run | undefined {
    const s = up.shards[i]!;
    if (!s.done || s.acceptedHash === undefined) return undefined;
    return s.runs.find((r) => !r.lost && r.claim?.outputHash === s.acceptedHash && (r.state === 'claimed' || r.state === 'paid') && this.d.present(r.lease.contributor));
  }

  /** Shard `i` of `job` lacks its inputs: wait again and reopen the upstream shard (or fail the pipeline). */
  #lostInputs(job: Job, i: number, why: string): void {
    const up = job.upstream!;
    job.awaiting.add(i);
    if (!up.shards[i]!.done) return; // already being computed again
    if (!up.reopen(i)) {
      this.d.failJob(job, `Cannot finish pipeline stage ${job.spec.pipeline!.stage} shard ${i} as ${why} and its upstream shard was computed too often already`);
      return;
    }
    this.d.log.info('pipeline shard recomputed', { jobId: up.jobId, shard: i, why });
    // A reopened shard whose own inputs are gone too is handled when it is next assigned.
    this.d.afterChange(up, i);
    this.d.schedule();
  }

  #ready(job: Job, i: number, hash: string): void {
    job.shards[i]!.spec.inputHash = hash;
    if (!job.awaiting.delete(i)) return;
    this.d.schedule();
  }

  /** Tells the holders of shards `shards` of stage `job` (and the stages before it) to drop those outputs. */
  #forget(job: Job, shards: readonly number[]): void {
    const byPeer = new Map<string, string[]>();
    for (let stage: Job | undefined = job; stage; stage = stage.upstream) {
      for (const i of shards) {
        for (const r of stage.shards[i]?.runs ?? []) {
          if (!r.claim) continue;
          const list = byPeer.get(r.lease.contributor) ?? [];
          list.push(r.lease.leaseId);
          byPeer.set(r.lease.contributor, list);
        }
      }
    }
    for (const [peer, ids] of byPeer) {
      for (let k = 0; k < ids.length; k += FORGET_BATCH) this.d.notify(peer, { type: 'forget', leaseIds: ids.slice(k, k + FORGET_BATCH) });
    }
  }

  /** The last stage is done: the stages before it, complete, end too. */
  #closeUpstream(up: Job): void {
    for (let stage: Job | undefined = up; stage; stage = stage.upstream) {
      if (stage.state === 'running' && stage.complete) this.d.finishLater(stage, 'done');
    }
  }
}
