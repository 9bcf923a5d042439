/**
 * The Meshwork SDK: `connect()` to a coordinator, then run jobs with `mesh.client` and donate cycles with
 * `mesh.contributor`. Nothing else in src/ is public.
 */
export { connect } from './connect.ts';
export { SessionElsewhereError, sessionFree } from './session-lock.ts';
export { splitModel } from './split-model.ts';
export type { SplitByTimeOptions } from './split-model.ts';
export type { StageRuntime, StageSession } from './stage-timing.ts';
export type { StageTiming, TimeBalanceOptions, TimedStagePlan } from './time-balance.ts';
export type { PartitionOptions, Stage, StageBalance, StageInput, StageOutput, StagePlan, StageTensor } from '../model/index.ts';
export { ocrLocal } from './ocr-local.ts';
export type {
  ConnectOptions,
  ContributeOptions,
  ContributorPause,
  ContributorState,
  InputTensor,
  JobCost,
  JobHandle,
  JobOptions,
  JobProgress,
  LinkedDetail,
  Mesh,
  MeshClient,
  MeshContributor,
  OcrHandle,
  OcrImage,
  OcrLine,
  OcrLocalOptions,
  OcrModels,
  OcrOptions,
  OcrPipelineOptions,
  OcrProgress,
  OcrResult,
  OcrRgba,
  OutputTensor,
  PipelineHandle,
  PipelineProgress,
  PipelineStage,
  PlannedStage,
  PowerOptions,
  PowerStatus,
  RunMatmulOptions,
  RunOnnxOptions,
  RunPipelineOptions,
  RunRowsOptions,
  RunWgslOptions,
  ShardEventDetail,
  WgslShard,
} from './types.ts';
export { MeshError } from '../protocol/errors.ts';
export type { ErrorCode } from '../protocol/errors.ts';
export type { LeaseFailure } from '../protocol/coordinator.ts';
export { MICRO } from '../protocol/coordinator.ts';
export type { CreditLink, JobWait, LinkCreditsResult } from '../protocol/coordinator.ts';
export { parseClaimHash, type SignedCreditLink } from './credit-link.ts';
export type { Capabilities } from '../protocol/capabilities.ts';
export type { DType, TensorData, TensorSpec } from '../protocol/tensor.ts';
export type { JoinOptions, ServeOptions } from './serving/serve-options.ts';
export type { ServiceHandle } from './serving/service-handle.ts';
export type { ServeStats } from './serving/serve-stats.ts';
export type { ServeEventDetail } from './serving/serve-host.ts';
export type { ServeLease, ServiceStatus } from '../protocol/serving.ts';
