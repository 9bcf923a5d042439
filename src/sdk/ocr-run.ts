/**
 * `client.ocr` on the mesh: the OCR pipeline (ocr-pipeline.ts) with each model run as an ONNX job, one handle
 * over them all. The pipeline runs at most MAX_STAGE_RUNS jobs at once (the coordinator admits 16 per client); progress sums the
 * shards of the jobs started so far; the cost sums every job's once the call is over. A failed job fails the
 * call and cancels the others, so their unspent escrow comes back.
 */
import { MeshError } from '../protocol/errors.ts';
import { snapshot, toRgba } from './ocr-images.ts';
import { DET_OUTPUT, OCR_INPUT, REC_OUTPUT } from './ocr-models.ts';
import { type OcrStage, runOcrPipeline, type StageOutput } from './ocr-pipeline.ts';
import type { JobCost, JobHandle, JobProgress, OcrHandle, OcrImage, OcrModels, OcrOptions, OcrProgress, OcrResult, OutputTensor, RunOnnxOptions } from './types.ts';

/** Default images per detector shard. */
export const DEFAULT_IMAGES_PER_SHARD = 1;
/** Default crops per recogniser shard. */
export const DEFAULT_CROPS_PER_SHARD = 4;

type OnnxJob = JobHandle<Record<string, OutputTensor>>;

/** What an OcrRun needs from the client. */
export interface OcrRunDeps {
  runOnnx(opts: RunOnnxOptions): OnnxJob;
  /** The recogniser's classes (blank first, space last). */
  classes(): Promise<string[]>;
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

  async #runStage(s: OcrStage): Promise<StageOutput> {
    if (this.#stopped) throw new MeshError('cancelled', `Cannot run the OCR ${s.stage} job as the call was cancelled or failed`);
    const detect = s.stage === 'detect';
    const output = detect ? DET_OUTPUT : REC_OUTPUT;
    const items = s.dims[0]!;
    const per = Math.min(items, detect ? this.#opts.imagesPerShard ?? DEFAULT_IMAGES_PER_SHARD : this.#opts.cropsPerShard ?? DEFAULT_CROPS_PER_SHARD);
    const handle = this.#deps.runOnnx({
      model: { url: detect ? this.#deps.urls.detector : this.#deps.urls.recogniser, name: detect ? 'OCR detector' : 'OCR recogniser' },
      inputs: { [OCR_INPUT]: { dtype: 'float32', dims: s.dims, data: s.input } },
      outputs: [output],
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
    const t = out[output];
    if (t === undefined || t.dtype !== 'float32') {
      throw new MeshError('invalid-message', `Cannot read the OCR ${s.stage} job's output as '${output}' must be float32: current value is ${t?.dtype ?? 'missing'}`);
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
