/**
 * `client.ocr` on the mesh: the OCR pipeline (ocr-pipeline.ts) with each model run as an ONNX job, one handle
 * over them all. Recogniser jobs run the edited recogniser (ocr-recogniser.ts), so contributors send back each
 * crop's best path, int64 indices and float32 probabilities [N, T], not the full class table; the indices are
 * compared exactly between replicas (core/verify.ts), the probabilities within the job's tolerance. The pipeline runs at most MAX_STAGE_RUNS jobs at once (the coordinator admits 16 per client); progress sums the
 * shards of the jobs started so far; the cost sums every job's once the call is over. A failed job fails the
 * call and cancels the others, so their unspent escrow comes back.
 */
import { MeshError } from '../protocol/errors.ts';
import { snapshot, toRgba } from './ocr-images.ts';
import type { PlanOnnxOptions } from './kernels/onnx.ts';
import { DET_OUTPUT, OCR_INPUT } from './ocr-models.ts';
import { type BestPathOutput, type OcrStage, runOcrPipeline, type StageOutput } from './ocr-pipeline.ts';
import type { BestPathModel } from './ocr-recogniser.ts';
import type { JobCost, JobHandle, JobProgress, OcrHandle, OcrImage, OcrModels, OcrOptions, OcrProgress, OcrResult, OutputTensor, RunOnnxOptions } from './types.ts';

/** Default images per detector shard. */
export const DEFAULT_IMAGES_PER_SHARD = 1;
/** Default crops per recogniser shard. */
export const DEFAULT_CROPS_PER_SHARD = 4;

type OnnxJob = JobHandle<Record<string, OutputTensor>>;

/** What an OcrRun needs from the client. */
export interface OcrRunDeps {
  runOnnx(opts: PlanOnnxOptions): OnnxJob;
  /** The recogniser's classes (blank first, space last). */
  classes(): Promise<string[]>;
  /** The recogniser at `urls.recogniser`, edited to return its best path (asked once per call). */
  recogniser(): Promise<BestPathModel>;
  /** Model URLs, resolved. */
  urls: Required<OcrModels>;
}

/** One `client.ocr` call in flight. */
export class OcrRun extends EventTarget implements OcrHandle {
  readonly result: Promise<OcrResult[]>;
  readonly cost: Promise<JobCost>;
  readonly #deps: OcrRunDeps;
  readonly #opts: OcrOptions;
  readonly #jobs: { handle: OnnxJob; done: number; total: number }[] = [];
  readonly #ids: string[] = [];
  #stopped = false;
  #stage: OcrProgress['stage'] = 'detect';
  #recogniser: Promise<BestPathModel> | undefined;

  constructor(deps: OcrRunDeps, images: readonly OcrImage[], opts: OcrOptions = {}) {
    super();
    this.#deps = deps;
    this.#opts = opts;
    let copies: ReturnType<typeof snapshot>[] | Error;
    try {
      if (!Array.isArray(images)) throw new TypeError(`Cannot read images as they must be an array: current value is ${typeof images}`);
      copies = images.map(snapshot); // before returning: the caller may reuse ImageData at once
    } catch (err) {
      copies = err as Error;
    }
    this.result = (async () => {
      if (copies instanceof Error) throw copies;
      const rgba = await Promise.all(copies.map(toRgba));
      const classes = await deps.classes();
      const out = await runOcrPipeline(rgba, classes, (s) => this.#runStage(s), opts);
      this.#stage = 'done';
      this.#announce();
      return out;
    })();
    this.result.catch(() => this.#stop());
    this.cost = this.result.then(() => undefined, () => undefined).then(() => this.#sumCosts());
  }

  get jobIds(): readonly string[] {
    return [...this.#ids];
  }

  /** Cancels every job; `result` rejects with 'cancelled'. */
  async cancel(): Promise<void> {
    this.#stop();
    await Promise.all(this.#jobs.map(({ handle }) => handle.cancel().catch(() => undefined)));
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const { handle } of this.#jobs) void handle.cancel().catch(() => undefined);
  }

  async #runStage(s: OcrStage): Promise<StageOutput | BestPathOutput> {
    if (this.#stopped) throw new MeshError('cancelled', `Cannot run the OCR ${s.stage} job as the call was cancelled or failed`);
    const detect = s.stage === 'detect';
    let rec: BestPathModel | undefined;
    if (!detect) {
      this.#recogniser ??= this.#deps.recogniser();
      rec = await this.#recogniser;
      if (this.#stopped) throw new MeshError('cancelled', 'Cannot run the OCR recognise job as the call was cancelled or failed');
    }
    const outputs = rec ? [rec.indices, rec.probs] : [DET_OUTPUT];
    const items = s.dims[0]!;
    const per = Math.min(items, detect ? this.#opts.imagesPerShard ?? DEFAULT_IMAGES_PER_SHARD : this.#opts.cropsPerShard ?? DEFAULT_CROPS_PER_SHARD);
    const handle = this.#deps.runOnnx({
      model: rec ? { loaded: rec, name: 'OCR recogniser (best path)' } : { url: this.#deps.urls.detector, name: 'OCR detector' },
      inputs: { [OCR_INPUT]: { dtype: 'float32', dims: s.dims, data: s.input } },
      outputs,
      itemsPerShard: per,
      ...marketOptions(this.#opts),
    });
    const job = { handle, done: 0, total: Math.ceil(items / per) };
    const index = this.#jobs.push(job) - 1;
    this.#stage = s.stage;
    handle.addEventListener('progress', (e) => {
      const progress = (e as CustomEvent<JobProgress>).detail;
      job.done = progress.done;
      job.total = progress.total;
      this.#announce({ index, progress });
    });
    handle.jobId.then((id) => this.#ids.push(id), () => undefined);
    this.#announce();
    const out = await handle.result;
    if (rec) {
      const indices = out[rec.indices];
      const probs = out[rec.probs];
      if (indices?.dtype !== 'int64' || probs?.dtype !== 'float32' || indices.dims.join() !== probs.dims.join()) {
        throw new MeshError(
          'invalid-message',
          `Cannot read the OCR recognise job's outputs as '${rec.indices}' must be int64 and '${rec.probs}' float32 of one shape: current values are ${describe(indices)} and ${describe(probs)}`,
        );
      }
      return { indices: indices.data as BigInt64Array, probs: probs.data as Float32Array, dims: indices.dims };
    }
    const t = out[DET_OUTPUT];
    if (t === undefined || t.dtype !== 'float32') {
      throw new MeshError('invalid-message', `Cannot read the OCR detect job's output as '${DET_OUTPUT}' must be float32: current value is ${t?.dtype ?? 'missing'}`);
    }
    return { data: t.data as Float32Array, dims: t.dims };
  }

  #announce(job?: OcrProgress['job']): void {
    const detail: OcrProgress = {
      stage: this.#stage,
      jobs: this.#jobs.length,
      done: this.#jobs.reduce((sum, j) => sum + j.done, 0),
      total: this.#jobs.reduce((sum, j) => sum + j.total, 0),
      ...(job === undefined ? {} : { job }),
    };
    this.dispatchEvent(new CustomEvent('progress', { detail }));
  }

  async #sumCosts(): Promise<JobCost> {
    const sum: JobCost = { spent: 0, fees: 0, refunded: 0, escrow: 0, unknown: 0, source: 'coordinator' };
    for (const settled of await Promise.allSettled(this.#jobs.map(({ handle }) => handle.cost))) {
      if (settled.status === 'rejected') continue; // never accepted: nothing held, nothing spent
      const c = settled.value;
      sum.spent += c.spent;
      sum.fees += c.fees;
      sum.refunded += c.refunded;
      sum.escrow += c.escrow;
      sum.unknown += c.unknown;
      if (c.source === 'client') sum.source = 'client';
    }
    return sum;
  }
}

function marketOptions(o: OcrOptions): Pick<RunOnnxOptions, 'bid' | 'verifyFraction' | 'tolerance' | 'deadlineMs'> {
  return {
    ...(o.bid === undefined ? {} : { bid: o.bid }),
    ...(o.verifyFraction === undefined ? {} : { verifyFraction: o.verifyFraction }),
    ...(o.tolerance === undefined ? {} : { tolerance: o.tolerance }),
    ...(o.deadlineMs === undefined ? {} : { deadlineMs: o.deadlineMs }),
  };
}

function describe(t: OutputTensor | undefined): string {
  return t === undefined ? 'missing' : `${t.dtype}[${t.dims}]`;
}
