/** The SDK's client (`mesh.client`): turns calls into planned jobs and runs them on the mesh. */
import { DEFAULT_BID } from '../core/cost.ts';
import type { MeshFigures } from '../core/shard-size.ts';
import type { KernelKind } from '../protocol/kernel.ts';
import type { TensorData } from '../protocol/tensor.ts';
import type { JobDetail, JobStatus } from '../protocol/coordinator.ts';
import type { JobPlan } from './job-plan.ts';
import { planMatmul, planOnnx, type PlanOnnxOptions, planRows, planWgsl } from './kernels/index.ts';
import { JobRun, type ResolvedJobOptions } from './job-run.ts';
import { resolveModelUrl } from './default-coordinator.ts';
import { MeshFigureSource } from './mesh-figures.ts';
import { ModelSource } from './model-source.ts';
import { DictionaryCache, ocrModelUrls } from './ocr-models.ts';
import { BestPathCache } from './ocr-recogniser.ts';
import { OcrRun } from './ocr-run.ts';
import type { JobRouter, SessionContext } from './session.ts';
import { PipelineRun } from './pipeline-run.ts';
import type {
  JobHandle,
  JobOptions,
  MeshClient,
  OcrHandle,
  OcrImage,
  OcrOptions,
  OutputTensor,
  PipelineHandle,
  RunMatmulOptions,
  RunOnnxOptions,
  RunPipelineOptions,
  RunRowsOptions,
  RunWgslOptions,
  InputTensor,
} from './types.ts';
import { DEFAULT_SERVE_BUDGET, type JoinOptions, resolveServeOptions, type ServeOptions } from './serving/serve-options.ts';
import { ServiceHandle } from './serving/service-handle.ts';
import { type ServeOpenResult, type ServiceSpec } from '../protocol/serving.ts';
import { signedText } from '../protocol/coordinator.ts';
import { toBase64Url } from '../core/encoding.ts';

/** Tolerance used when a job names none: loose enough for GPU/CPU float differences. */
export const DEFAULT_TOLERANCE = { abs: 1e-4, rel: 1e-3 };
/** Deadline used when a job names none: ten minutes. */
export const DEFAULT_DEADLINE_MS = 10 * 60 * 1000;

/** Runs jobs for one connection. */
export class Client implements MeshClient {
  readonly #ctx: SessionContext;
  readonly #router: JobRouter;
  readonly #runs = new Set<JobRun<unknown>>();
  /** Models by URL for this session: a model run again is revalidated, not downloaded and hashed again. */
  readonly #models = new ModelSource();
  /** The mesh's measured speed and this session's link, for sizing shards (core/shard-size.ts). */
  readonly #figures: MeshFigureSource;
  /** OCR dictionaries by URL for this session. */
  readonly #dictionaries = new DictionaryCache();
  /** OCR recognisers edited to return their best path, by source model hash, for this session. */
  readonly #bestPaths = new BestPathCache();
  /** Services this client opened or joined, by id (open ones only). */
  readonly #services = new Map<string, ServiceHandle>();
  readonly #joining = new Map<string, Promise<ServiceHandle>>();

  constructor(ctx: SessionContext, router: JobRouter) {
    this.#ctx = ctx;
    this.#router = router;
    this.#figures = new MeshFigureSource(() => ctx.base);
    this.#figures.refresh();
  }

  /** Runs an ONNX model over a batch, split along axis 0. */
  runOnnx(opts: RunOnnxOptions): JobHandle<Record<string, OutputTensor>> {
    // A relative model URL names a model of the coordinator's, wherever the calling page lives.
    const model = { ...opts.model, url: resolveModelUrl(opts.model.url, this.#ctx.base) };
    return this.#runOnnx({ ...opts, model });
  }

  #runOnnx(opts: PlanOnnxOptions): JobHandle<Record<string, OutputTensor>> {
    const figures = opts.itemsPerShard === undefined ? this.#sizing('onnx') : undefined;
    return this.#run(planOnnx(opts, (url) => this.#models.load(url), figures), opts);
  }

  /**
   * Reads the text in images: a detector job per distinct input size, boxes found here, then recogniser jobs over
   * the crops (the recogniser edited to return its best path, ocr-recogniser.ts), decoded here with the
   * dictionary (see ocr-run.ts and ocr-pipeline.ts).
   */
  ocr(images: readonly OcrImage[], opts: OcrOptions = {}): OcrHandle {
    const urls = ocrModelUrls(opts.models, (url) => resolveModelUrl(url, this.#ctx.base));
    return new OcrRun(
      {
        runOnnx: (o) => this.#runOnnx(o),
        classes: () => this.#dictionaries.classes(urls.dictionary),
        recogniser: async () => this.#bestPaths.get(await this.#models.load(urls.recogniser)),
        urls,
      },
      images,
      opts,
    );
  }

  /** Runs a WGSL kernel over caller-made shards; resolves with each shard's outputs. */
  runWgsl(opts: RunWgslOptions): JobHandle<TensorData[][]> {
    return this.#run(planWgsl(opts), opts);
  }

  /** Multiplies A[m x k] by B[k x n] in tiles across the mesh. */
  runMatmul(opts: RunMatmulOptions): JobHandle<Float32Array> {
    return this.#run(planMatmul(opts, opts.tile === undefined ? this.#sizing('matmul') : undefined), opts);
  }

  /**
   * Runs a model split into stages (`stages`: a stage plan, or a count to split `model` into here) as a pipeline:
   * one stage job per stage, micro-batches of `microBatch` items flowing stage to stage between contributors.
   */
  runPipeline(opts: RunPipelineOptions): PipelineHandle {
    const base = this.#ctx.base;
    const stages = Array.isArray(opts.stages) ? opts.stages.map((s) => ('url' in s.model ? { ...s, model: { ...s.model, url: resolveModelUrl(s.model.url, base) } } : s)) : opts.stages;
    const model = opts.model ? { ...opts.model, url: resolveModelUrl(opts.model.url, base) } : undefined;
    return new PipelineRun({ ...opts, stages, ...(model ? { model } : {}) }, (url) => this.#models.load(url), (plan) => this.#run(plan, opts));
  }

  /** Runs a row kernel (reduce, softmax, layer norm, element-wise) over x's rows in row blocks across the mesh. */
  runRows(opts: RunRowsOptions): JobHandle<Float32Array> {
    return this.#run(planRows(opts, opts.rowsPerShard === undefined ? this.#sizing('rows') : undefined), opts);
  }

  /** The coordinator's status of one of this client's jobs. */
  jobStatus(jobId: string): Promise<JobStatus> {
    return this.#ctx.coordinator.request<JobStatus>({ type: 'job', jobId });
  }

  /** One of this client's jobs shard by shard (owner only). */
  jobDetail(jobId: string): Promise<JobDetail> {
    return this.#ctx.coordinator.request<JobDetail>({ type: 'job', jobId, detail: true });
  }

  /**
   * Opens a continuous-serving endpoint for an ONNX model (see serving/service-handle.ts): resolves once the
   * coordinator holds its budget, with a handle whose `infer()` many callers may use at once.
   */
  async serve(opts: ServeOptions): Promise<ServiceHandle> {
    const o = resolveServeOptions(opts);
    const url = resolveModelUrl(o.model.url, this.#ctx.base);
    const { bytes, hash } = await this.#models.load(url);
    const spec: ServiceSpec = {
      kernel: { kind: 'onnx', model: { hash, bytes: bytes.byteLength, url, ...(o.model.name === undefined ? {} : { name: o.model.name }) }, outputs: o.outputs },
      maxBatch: o.maxBatch,
      maxWaitMs: o.maxWaitMs,
      replicas: o.replicas,
      bid: o.bid,
      budget: o.budget,
      shared: o.shared,
      ttlMs: o.ttlMs,
      nonce: toBase64Url(crypto.getRandomValues(new Uint8Array(16))),
    };
    const signature = await this.#ctx.identity.sign(signedText('service', spec));
    const opened = await this.#ctx.coordinator.request<ServeOpenResult>({ type: 'serve-open', service: spec, signature });
    return this.#track(new ServiceHandle(this.#ctx, opened.status, { spotCheck: o.spotCheck, tolerance: o.tolerance, timeoutMs: o.timeoutMs }));
  }

  /** Joins a shared service another client opened, paying for this client's requests from an escrow of its own. */
  join(serviceId: string, opts: JoinOptions = {}): Promise<ServiceHandle> {
    const open = this.#services.get(serviceId);
    if (open) return Promise.resolve(open);
    let joining = this.#joining.get(serviceId);
    if (!joining) {
      joining = (async () => {
        const budget = opts.budget ?? DEFAULT_SERVE_BUDGET;
        const joined = await this.#ctx.coordinator.request<ServeOpenResult>({ type: 'serve-join', serviceId, budget });
        const { spotCheck = 0, tolerance = DEFAULT_TOLERANCE, timeoutMs = 60_000 } = opts;
        return this.#track(new ServiceHandle(this.#ctx, joined.status, { spotCheck, tolerance, timeoutMs }));
      })().finally(() => this.#joining.delete(serviceId));
      this.#joining.set(serviceId, joining);
    }
    return joining;
  }

  /** One request to a service this client opened, or to a shared one (joined on first use with the default budget). */
  async infer(serviceId: string, inputs: Record<string, InputTensor>): Promise<Record<string, OutputTensor>> {
    return (await this.join(serviceId)).infer(inputs);
  }

  #track(handle: ServiceHandle): ServiceHandle {
    this.#services.set(handle.serviceId, handle);
    handle.addEventListener('closed', () => {
      if (this.#services.get(handle.serviceId) === handle) this.#services.delete(handle.serviceId);
    }, { once: true });
    return handle;
  }

  /** Fails every running job and service handle (the connection closed). */
  abandonAll(err: Error): void {
    for (const handle of [...this.#services.values()]) handle.abandon(err);
    for (const run of this.#runs) run.abandon(err);
    this.#runs.clear();
    this.#models.clear();
    this.#bestPaths.clear();
  }

  /** What is known now for sizing a job of `kind`; asks the coordinator again in the background when stale. */
  #sizing(kind: KernelKind): MeshFigures {
    this.#figures.refresh();
    return this.#figures.figures(kind);
  }

  #run<T>(plan: Promise<JobPlan<T>>, opts: JobOptions): JobRun<T> {
    const run = new JobRun<T>(this.#ctx, this.#router, plan, { ...resolveOptions(opts), link: this.#figures.link });
    this.#runs.add(run as JobRun<unknown>);
    const forget = () => this.#runs.delete(run as JobRun<unknown>);
    run.cost.then(forget, forget);
    return run;
  }
}

function resolveOptions(opts: JobOptions): ResolvedJobOptions {
  return {
    bid: opts.bid ?? DEFAULT_BID,
    verifyFraction: opts.verifyFraction ?? 0,
    tolerance: opts.tolerance ?? DEFAULT_TOLERANCE,
    deadlineMs: opts.deadlineMs ?? DEFAULT_DEADLINE_MS,
  };
}
