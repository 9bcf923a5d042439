/** The public types of the Meshwork SDK (see src/sdk/index.ts). */
import type { JobDetail, JobStatus, JobWait, LeaseFailure, LinkCreditsResult } from '../protocol/coordinator.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import type { SignedCreditLink } from './credit-link.ts';
import type { Capabilities } from '../protocol/capabilities.ts';
import type { DType, TensorData, TensorSpec } from '../protocol/tensor.ts';
import type { PipelineHandle, RunPipelineOptions } from './pipeline-types.ts';
import type { OcrHandle, OcrImage, OcrOptions } from './ocr-types.ts';

export type { PipelineHandle, PipelineProgress, PipelineStage, PlannedStage, RunPipelineOptions } from './pipeline-types.ts';
export type { OcrHandle, OcrImage, OcrLine, OcrLocalOptions, OcrModels, OcrOptions, OcrPipelineOptions, OcrProgress, OcrResult, OcrRgba } from './ocr-types.ts';

/** Options of `connect()`. */
export interface ConnectOptions {
  /**
   * Coordinator base URL (default: the origin the SDK module was loaded from, e.g. the coordinator serving
   * `sdk.js` or `embed.js`; a bundled SDK has the page's); with `coordinators`, tried first.
   */
  coordinator?: string;
  /**
   * Base URLs of the coordinators of one cluster, in order of preference (http(s), 1..16, duplicates dropped).
   * `connect()` uses the first that answers; after a drop the session tries the same one once, then the others
   * in turn, authenticates there and moves its signalling along (a 'moved' event on the Mesh).
   */
  coordinators?: string[];
  /** Slot of the identity key pair in IndexedDB (default 'default'). */
  identity?: string;
  /**
   * Reach other peers through the coordinator's TURN relay only (ICE `iceTransportPolicy: 'relay'`), so they
   * never learn this device's addresses; slower. Needs a coordinator with a relay (default false: direct first,
   * the relay where direct fails).
   */
  relayOnly?: boolean;
  /**
   * Take the identity's session over from another tab of this browser that holds it (that tab's Mesh closes
   * with a SessionElsewhereError). Without it, `connect()` rejects with SessionElsewhereError while another tab
   * holds the session (default false).
   */
  takeover?: boolean;
}

/** Detail of the Mesh 'linked' event: credits moved here from identity `from` (micro-credits). */
export interface LinkedDetail {
  from: string;
  earned: number;
  grant: number;
  balance: number;
}

/**
 * A connection to the mesh. Events: 'balance' (CustomEvent<{ balance: number }>), 'moved' (CustomEvent<{ from:
 * string; to: string }>: the session now uses another coordinator of the cluster), 'reconnecting' (the
 * coordinator went away: the session tries again, without end, backing off to 5 s), 'reconnected', 'close'
 * (CustomEvent<{ error?: Error }>; a SessionElsewhereError when another tab took the session over), 'linked'
 * (CustomEvent<LinkedDetail>: credits moved here from another identity).
 */
export interface Mesh extends EventTarget {
  readonly peerId: string;
  /** 'open', 'reconnecting' or 'closed'. */
  readonly connection: 'open' | 'reconnecting' | 'closed';
  /** Base URL of the coordinator in use (one of the `coordinators` given to `connect()`). */
  readonly coordinator: string;
  readonly client: MeshClient;
  readonly contributor: MeshContributor;
  /** This peer's balance in micro-credits. */
  balance(): Promise<number>;
  /** Signs a link handing everything this identity holds to identity `to` (see credit-link.ts). */
  signCreditLink(to: string): Promise<SignedCreditLink>;
  /**
   * Moves this identity's credits (an embed's, on one site) to the visitor's app identity: opens the app at `app`
   * (default: this coordinator's), waits for the visitor to confirm there, then signs and presents the link. Call
   * it from a click (it opens a window).
   */
  offerCredits(app?: string, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<LinkCreditsResult>;
  /** App side: accepts the credits an embed offers under `code` (from the URL it opened); a 'linked' event follows. */
  acceptCredits(code: string): Promise<void>;
  /** Presents a link another identity signed to this one: its credits move here (once per link). */
  claimCredits(signed: SignedCreditLink): Promise<LinkCreditsResult>;
  close(): Promise<void>;
}

/**
 * A running job. Events: 'progress' (CustomEvent<JobProgress>). Every handle settles: once the job is over
 * `result` resolves or rejects with a MeshError, and `cost` resolves, whether the coordinator reported the end,
 * no longer knows the job, or the session closed first.
 */
export interface JobHandle<T> extends EventTarget {
  readonly jobId: Promise<string>;
  /**
   * The assembled outputs; rejects with a MeshError when the job ended without them: the coordinator's reason
   * when it gave one (a 'failed' job: e.g. 'invalid-message' when contributors found the job wrong,
   * 'no-capable-peer' when none can run it), 'cancelled', 'lease-expired' (deadline passed), or 'not-found'
   * when the coordinator no longer knows the job (it restarted without its state).
   */
  readonly result: Promise<T>;
  /**
   * Resolves once the job is over (done, cancelled, expired, failed, or lost by the coordinator; see
   * JobCost.source); rejects only when the job was never accepted (the submit failed).
   */
  readonly cost: Promise<JobCost>;
  cancel(): Promise<void>;
}

/**
 * Progress of a job: settled shards out of the total, and the shard that just changed. `state` is 'running'
 * for a job-wide update; for one shard 'assigned', 'released' (the coordinator took the lease back; see `reason`
 * and `failure`), 'failed' (its transfer failed here), 'disputed', 'unverified' or 'settled'; and on the last
 * event the job's end: 'done', 'cancelled', 'expired', 'failed', or 'lost' (the coordinator no longer knows it).
 */
export interface JobProgress {
  done: number;
  total: number;
  shard?: number;
  contributor?: string;
  state: string;
  /** A shard 'released': the coordinator's reason (e.g. "failed: bad-input: ..."). */
  reason?: string;
  /** A shard 'released' because its contributor reported this fault (it is not held against its output). */
  failure?: LeaseFailure;
  /** The last event of a job that ended without its result: the code and message `result` rejects with. */
  error?: { code: ErrorCode; message: string };
  /** 'waiting': why the job's queued shards wait (nobody online, bid below the lowest ask, busy contributors with
   * the queue position and an ETA, a verifier awaited...), as the coordinator explains it. */
  wait?: JobWait;
}

/**
 * What a job cost, in micro-credits: paid to contributors, fees, refunded, and the escrow held at submission.
 * With `source` 'coordinator' these are the coordinator's final figures and spent + fees + refunded = escrow.
 * With `source` 'client' the coordinator could not say (it no longer knows the job, or the session closed
 * first): spent and fees are what this client knows was paid (the answers to its receipts, and the latest
 * status the coordinator sent), refunded is what that status said, and `unknown` is the rest of the escrow,
 * which the coordinator refunds when it ends the job (or lost with its ledger); check the balance.
 */
export interface JobCost {
  spent: number;
  fees: number;
  refunded: number;
  escrow: number;
  /** Micro-credits of the escrow this client cannot account for (0 with source 'coordinator'). */
  unknown: number;
  /** Whose figures these are: the coordinator's final status, or this client's own record. */
  source: 'coordinator' | 'client';
}

/** A tensor handed to the SDK: any typed-array view over its elements. */
export interface InputTensor {
  dtype: DType;
  dims: number[];
  data: ArrayBufferView;
}

/** A tensor returned by the SDK, with a typed array matching its dtype. */
export interface OutputTensor {
  dtype: DType;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Uint32Array;
}

/** Market and verification options common to every job. */
export interface JobOptions {
  /** Maximum micro-credits per work unit (default 2). */
  bid?: number;
  /** Fraction of shards run twice and compared (default 0). */
  verifyFraction?: number;
  /** Tolerance for comparing replicated outputs (default abs 1e-4, rel 1e-3). */
  tolerance?: { abs: number; rel: number };
  /** Milliseconds after which unfinished shards are abandoned (default 10 minutes). */
  deadlineMs?: number;
}

/** Options of `runOnnx`. */
export interface RunOnnxOptions extends JobOptions {
  model: { url: string; name?: string };
  /** Inputs by name; all share the batch size on axis 0. */
  inputs: Record<string, InputTensor>;
  /** Output names to fetch, in order. */
  outputs: string[];
  /** Batch items per shard (default: the batch split into up to 16 shards). */
  itemsPerShard?: number;
}

/** One shard of a WGSL job. */
export interface WgslShard {
  inputs: TensorData[];
  outputs: TensorSpec[];
  dispatch: [number, number, number];
  workUnits: number;
}

/** Options of `runWgsl`. */
export interface RunWgslOptions extends JobOptions {
  kernel: { source: string; entryPoint: string; bindings: { binding: number; role: 'input' | 'uniform' | 'output' }[] };
  shards: WgslShard[];
}

/**
 * Options of `runMatmul`: C[m x n] = A[m x k] B[k x n], row-major f32, tiled `tile` x `tile` (default 512:
 * each shard then holds 16 of the 128x128 blocks a contributor's kernel computes per workgroup, enough to
 * keep a GPU's cores busy; smaller tiles spread a small product over more peers).
 */
export interface RunMatmulOptions {
  a: Float32Array;
  b: Float32Array;
  m: number;
  k: number;
  n: number;
  tile?: number;
  bid?: number;
  verifyFraction?: number;
}

/** What every `runRows` call names: the matrix x [rows, cols] (row-major f32) and how many rows a shard holds. */
interface RowsBase extends JobOptions {
  x: Float32Array;
  rows: number;
  cols: number;
  /** Rows per shard (default: the rows split into up to 16 shards of at most 4 MiB of x each). */
  rowsPerShard?: number;
}

/**
 * Options of `runRows`, by op (see protocol `RowsKernelSchema`): 'sum' and 'max' reduce each row; 'softmax' and
 * 'relu' map it; 'add' and 'mul' combine x with `b` of x's shape; 'layernorm' takes `gamma` and `beta` [cols]
 * and `eps` (default 1e-5); 'affine' computes x * alpha + beta.
 */
export type RunRowsOptions =
  | (RowsBase & { op: 'sum' | 'max' | 'softmax' | 'relu' })
  | (RowsBase & { op: 'add' | 'mul'; b: Float32Array })
  | (RowsBase & { op: 'layernorm'; gamma: Float32Array; beta: Float32Array; eps?: number })
  | (RowsBase & { op: 'affine'; alpha: number; beta: number });

/** Running jobs on the mesh as a client. */
export interface MeshClient {
  runOnnx(opts: RunOnnxOptions): JobHandle<Record<string, OutputTensor>>;
  /** Reads the text in images: the PP-OCR detector and recogniser as mesh ONNX jobs, decoded here. */
  ocr(images: readonly OcrImage[], opts?: OcrOptions): OcrHandle;
  runWgsl(opts: RunWgslOptions): JobHandle<TensorData[][]>;
  runMatmul(opts: RunMatmulOptions): JobHandle<Float32Array>;
  /** Runs a row kernel over x [rows, cols] on contributors' GPUs; resolves with y: [rows] for 'sum'/'max', else [rows * cols]. */
  runRows(opts: RunRowsOptions): JobHandle<Float32Array>;
  /** Runs a model split into stages as a pipeline across contributors, micro-batch by micro-batch. */
  runPipeline(opts: RunPipelineOptions): PipelineHandle;
  /** The coordinator's status of one of this client's jobs (running or recently finished). */
  jobStatus(jobId: string): Promise<JobStatus>;
  /** Shard by shard: which contributor ran what, which runs verified others, what each was paid. Only the
   * job's owner can read it; a finished job's detail is kept for a few minutes. */
  jobDetail(jobId: string): Promise<JobDetail>;
  /** Opens a continuous-serving endpoint (a long-lived inference service) for an ONNX model. */
  serve(opts: import('./serving/serve-options.ts').ServeOptions): Promise<import('./serving/service-handle.ts').ServiceHandle>;
  /** Joins a shared service another client opened; this client pays for its own requests. */
  join(serviceId: string, opts?: import('./serving/serve-options.ts').JoinOptions): Promise<import('./serving/service-handle.ts').ServiceHandle>;
  /** One request to a service this client opened or may join. */
  infer(serviceId: string, inputs: Record<string, InputTensor>): Promise<Record<string, OutputTensor>>;
}

/** Detail of the contributor's 'shard' event. 'cancelled': the lease ended by no fault of this peer (the client
 * cancelled the job, the coordinator revoked it, the contributor paused or stopped); not counted as failed. */
export interface ShardEventDetail {
  leaseId: string;
  jobId: string;
  shard: number;
  phase: 'start' | 'done' | 'failed' | 'cancelled';
  ms?: number;
  error?: string;
  /** A failed shard's class, when it was a fault of this peer reported to the coordinator (LEASE_FAILURES). */
  failure?: import('../protocol/coordinator.ts').LeaseFailure;
  /** Set on 'done' when the shard was answered from this contributor's store of verified outputs, not computed. */
  fromCache?: true;
}

/**
 * Why a contributor paused without being asked: 'self' after repeated compute faults, 'coordinator' after a run
 * of failed leases. It heals (restarts its workers and self-tests them) and resumes on its own unless `final`.
 */
export interface ContributorPause {
  by: 'self' | 'coordinator';
  reason: string;
  /** When it paused (ms since the epoch). */
  since: number;
  /** It stays paused until `resume()`: healing failed, or it paused too often. */
  final: boolean;
}

/** Contributor state. */
export type ContributorState = 'stopped' | 'starting' | 'active' | 'paused';

/** Options of `MeshContributor.start`. */
export interface ContributeOptions {
  /** Share of CPU time to use, 0.05..1 (duty cycle). */
  cpuCap?: number;
  /** Share of GPU time to use, 0.05..1. */
  gpuCap?: number;
  /** Micro-credits asked per work unit (default 1). */
  askPrice?: number;
  /** Leases run at once (default: from measured cores, 1..4). */
  maxConcurrent?: number;
  /**
   * Leases taken beyond `maxConcurrent` (default 0): their model and inputs cross the link while earlier leases
   * compute, and their compute queues behind those on the pool's lanes (FIFO, duty cycle kept), so the fixed
   * cost of each shard (assign, transfer, claim) overlaps another's compute. The coordinator sees
   * `maxConcurrent + prefetch` slots.
   */
  prefetch?: number;
  /**
   * Finish tuning the matmul kernel for this GPU in idle time after start (default true). The start-up
   * probe tunes within a few seconds; on slow adapters that times only the likeliest candidates, and the
   * rest are timed later, once per adapter (the choice is kept in IndexedDB).
   */
  backgroundTuning?: boolean;
  /** When this device may work: the contributor pauses itself while these rules forbid it (default: no rules). */
  power?: PowerOptions;
  /**
   * Bounds of the store of verified outputs this contributor keeps in IndexedDB to answer repeated shards without
   * computing them (paid at the cache rate): bytes up to 512 MiB and a count of outputs, least recently used
   * evicted first (default 256 MiB and 4096 outputs; the embed keeps 32 MiB and 512). `false` keeps none.
   */
  resultCache?: { maxBytes?: number; maxEntries?: number } | false;
  /**
   * Memory (MiB, an integer from 16 to 1 048 576) this browser lets model sessions take: the coordinator gives it
   * no ONNX model (or pipeline stage) whose session would need more (about 4x the model's bytes). Default: no
   * budget beyond the device memory the browser reports. A model bigger than every contributor's budget still
   * runs as a pipeline (`client.runPipeline`), split into stages that fit.
   */
  modelMemoryMB?: number;
}

/**
 * A contributor's power rules. Battery rules apply only where the Battery Status API answers (Chromium);
 * `contributor.power.batterySupported` says whether it did.
 */
export interface PowerOptions {
  /** Work only while the person is idle: no input on this page for `idleMs`, or the page hidden (default false). */
  idleOnly?: boolean;
  /** Milliseconds without input on this page that count as idle (default 60 000). */
  idleMs?: number;
  /** Work only while charging (default false). */
  chargingOnly?: boolean;
  /** Pause below this battery level in [0, 1] unless charging; 0 turns it off (default 0). */
  batteryFloor?: number;
  /** Pause while the page is hidden (default false; the embed turns it on). */
  pauseWhenHidden?: boolean;
}

/** What the power rules say now. */
export interface PowerStatus {
  /** Whether the rules allow work now. */
  allowed: boolean;
  /** Why not, when they do not (e.g. 'battery at 20%, below the 30% floor'); '' otherwise. */
  reason: string;
  /** Whether the rules paused the contributor (it resumes by itself once they allow work again). */
  holding: boolean;
  /** Whether the battery status is known here. */
  batterySupported: boolean;
}

/**
 * Donating this browser's cycles. Events: 'state' (CustomEvent<{ state, pause? }>: `pause` says why a pause
 * nobody asked for happened), 'shard' (CustomEvent<ShardEventDetail>), 'credited' (CustomEvent<{ amount, balance }>),
 * 'power' (CustomEvent<PowerStatus>: the power rules' verdict changed).
 */
export interface MeshContributor extends EventTarget {
  readonly state: ContributorState;
  /** Its serving leases (continuous serving), with each replica's batch counters in `stats`. */
  readonly serving: import('./serving/serve-host.ts').ServeHost;
  /** The power rules' verdict (allowed, with no rules, while stopped). */
  readonly power: PowerStatus;
  /** Changes the power rules while contributing (applied at once). */
  setPower(power: PowerOptions): Promise<void>;
  readonly stats: { shardsRun: number; shardsFailed: number; earned: number; cacheServed: number };
  readonly capabilities: Capabilities | undefined;
  /** Set while the contributor is paused on its own or by the coordinator (see ContributorPause). */
  readonly pausedBy: ContributorPause | undefined;
  start(opts?: ContributeOptions): Promise<Capabilities>;
  setCaps(caps: { cpuCap?: number; gpuCap?: number }): void;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}
