import * as v from 'valibot';
import { int, list, real, text } from './_fields.ts';
import { parser } from './validate.ts';

const limit = int(0, 2 ** 53 - 1);

/** The WebGPU limits the matcher and runners care about. */
export const GpuLimitsSchema = v.strictObject({
  maxStorageBufferBindingSize: limit,
  maxBufferSize: limit,
  maxComputeWorkgroupStorageSize: limit,
  maxComputeInvocationsPerWorkgroup: limit,
  maxComputeWorkgroupSizeX: limit,
  maxComputeWorkgroupSizeY: limit,
  maxComputeWorkgroupSizeZ: limit,
  maxComputeWorkgroupsPerDimension: limit,
  maxStorageBuffersPerShaderStage: limit,
});
/** WebGPU limits. */
export type GpuLimits = v.InferOutput<typeof GpuLimitsSchema>;
/** Validates WebGPU limits. */
export const parseGpuLimits = parser(GpuLimitsSchema);

/** ORT execution providers a contributor can run. */
export const ORT_EPS = ['wasm', 'webgpu'] as const;

/** Smallest model memory budget (MiB) a contributor may state: less could hold no model at all. */
export const MIN_MODEL_MEMORY_MB = 16;
/** Largest model memory budget (MiB) a contributor may state (1 TiB): more is no device's memory. */
export const MAX_MODEL_MEMORY_MB = 1 << 20;

/** What a contributor measured about itself on the spot. */
export const CapabilitiesSchema = v.strictObject({
  gpu: v.exactOptional(v.strictObject({
    vendor: text(0, 200),
    architecture: text(0, 200),
    description: text(0, 400),
    features: list(text(0, 100), 0, 100),
    limits: GpuLimitsSchema,
  })),
  cpu: v.strictObject({
    cores: int(1, 1024),
    wasmSimd: v.boolean(),
    wasmThreads: v.boolean(),
    crossOriginIsolated: v.boolean(),
  }),
  memoryGiB: v.exactOptional(real(0, 1 << 20)),
  /**
   * Memory (MiB) the contributor's person lets model sessions take, when they set a budget
   * (ContributeOptions.modelMemoryMB): the matcher gives it no model whose session would need more.
   */
  modelMemoryMB: v.exactOptional(int(MIN_MODEL_MEMORY_MB, MAX_MODEL_MEMORY_MB)),
  ortEps: list(v.picklist(ORT_EPS), 0, 4),
  gflops: v.strictObject({ cpu: real(0, 1e9), gpu: v.exactOptional(real(0, 1e9)) }),
});
/** Measured capabilities of a contributor. */
export type Capabilities = v.InferOutput<typeof CapabilitiesSchema>;
/** Validates a contributor's capabilities. */
export const parseCapabilities = parser(CapabilitiesSchema);
