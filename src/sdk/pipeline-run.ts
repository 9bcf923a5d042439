/**
 * A pipeline from the client's side: one stage job per stage, submitted in order (each names the job before it),
 * all running at once. The client serves every lease as usual but sends inputs only to stage 0 and takes outputs
 * only from the last stage; activations move between the stages' contributors (pipe-transfer.ts). Stage jobs end
 * together: when one fails or is cancelled, the others are cancelled too (the coordinator does the same).
 */
import { toBase64Url } from '../core/encoding.ts';
import type { JobPlan } from './job-plan.ts';
import type { LoadedModel } from './model-source.ts';
import { MAX_PIPELINE_STAGES } from '../protocol/pipeline.ts';
import { microBatches, planFirstStage, planLaterStage } from './pipeline-plan.ts';
import { resolveStages } from './pipeline-stages.ts';
import type { JobCost, JobHandle, JobProgress, OutputTensor, PipelineHandle, PipelineProgress, PlannedStage, RunPipelineOptions } from './types.ts';

/** Starts one stage job from its plan (the client's JobRun, with the pipeline's market options). */
export type StartStage = (plan: Promise<JobPlan<unknown>>) => JobHandle<unknown>;

/** A running pipeline; the PipelineHandle the SDK returns. */
export class PipelineRun extends EventTarget implements PipelineHandle {
  readonly plan: Promise<PlannedStage[]>;
  readonly jobIds: Promise<string[]>;
  readonly result: Promise<Record<string, OutputTensor>>;
  readonly cost: Promise<JobCost>;
  readonly #stages: JobHandle<unknown>[] = [];
  readonly #done: number[];

  constructor(opts: RunPipelineOptions, loadModel: (url: string) => Promise<LoadedModel>, start: StartStage) {
    super();
    const k = typeof opts.stages === 'number' ? opts.stages : Array.isArray(opts.stages) ? opts.stages.length : NaN;
    if (!Number.isSafeInteger(k) || k < 2 || k > MAX_PIPELINE_STAGES) {
      throw new RangeError(`Cannot run a pipeline as it must have 2..${MAX_PIPELINE_STAGES} stages: current count is ${k}`);
    }
    this.#done = new Array<number>(k).fill(0);
    const id = toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
    const batch = opts.inputs[Object.keys(opts.inputs)[0] ?? '']?.dims[0] ?? 0;
    const items = microBatches(batch, k, opts.microBatch);
    const resolved = resolveStages(opts, loadModel);
    resolved.catch(() => {});
    this.plan = resolved.then((r) => r.plan);
    // Every stage job starts now; each is submitted once its models are ready and the stage before has its job id.
    this.#stages.push(start(resolved.then((r) => planFirstStage(r.stages[0]!, opts.inputs, items, { id, stage: 0, stages: k })) as Promise<JobPlan<unknown>>));
    for (let i = 1; i < k; i++) {
      const upstream = this.#stages[i - 1]!.jobId;
      const plan = Promise.all([resolved, upstream]).then(([r, up]) => planLaterStage(r.stages[i]!, items, { id, stage: i, stages: k, upstream: up }));
      this.#stages.push(start(plan as Promise<JobPlan<unknown>>));
    }
    this.#stages.forEach((run, stage) => {
      run.addEventListener('progress', (e) => this.#onProgress(stage, (e as CustomEvent<JobProgress>).detail));
      // A stage that ends without its part ends the pipeline.
      run.result.catch(() => void this.cancel().catch(() => {}));
    });
    this.jobIds = Promise.all(this.#stages.map((r) => r.jobId));
    this.result = this.#stages.at(-1)!.result as Promise<Record<string, OutputTensor>>;
    this.cost = Promise.allSettled(this.#stages.map((r) => r.cost)).then((all) => sumCosts(all));
    for (const p of [this.plan, this.jobIds, this.result, this.cost]) p.catch(() => {});
  }

  /** Cancels every stage job. */
  async cancel(): Promise<void> {
    await Promise.allSettled(this.#stages.map((r) => r.cancel()));
  }

  #onProgress(stage: number, p: JobProgress): void {
    this.#done[stage] = p.done;
    this.dispatchEvent(new CustomEvent<PipelineProgress>('progress', { detail: { ...p, stage, stagesDone: [...this.#done] } }));
  }
}

/** The stage jobs' costs added up; a stage never accepted adds nothing (the pipeline's cost rejects if none was). */
function sumCosts(all: PromiseSettledResult<JobCost>[]): JobCost {
  const ok = all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (ok.length === 0) throw (all[0] as PromiseRejectedResult).reason;
  return ok.reduce((a, c) => ({
    spent: a.spent + c.spent,
    fees: a.fees + c.fees,
    refunded: a.refunded + c.refunded,
    escrow: a.escrow + c.escrow,
    unknown: a.unknown + c.unknown,
    source: a.source === 'coordinator' && c.source === 'coordinator' ? 'coordinator' : 'client',
  }));
}
