import { arr, bool, type Infer, num, obj, oneOf, opt, str } from './validate.ts';

const limit = num({ int: true, min: 0, max: 2 ** 53 - 1 });

/** The WebGPU limits the matcher and runners care about. */
export const parseGpuLimits = obj({
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
export type GpuLimits = Infer<typeof parseGpuLimits>;

/** ORT execution providers a contributor can run. */
export const ORT_EPS = ['wasm', 'webgpu'] as const;

/** What a contributor measured about itself on the spot. */
export const parseCapabilities = obj({
  gpu: opt(obj({
    vendor: str({ max: 200 }),
    architecture: str({ max: 200 }),
    description: str({ max: 400 }),
    features: arr(str({ max: 100 }), { max: 100 }),
    limits: parseGpuLimits,
  })),
  cpu: obj({
    cores: num({ int: true, min: 1, max: 1024 }),
    wasmSimd: bool(),
    wasmThreads: bool(),
    crossOriginIsolated: bool(),
  }),
  memoryGiB: opt(num({ min: 0, max: 1 << 20 })),
  ortEps: arr(oneOf(...ORT_EPS), { max: 4 }),
  gflops: obj({ cpu: num({ min: 0, max: 1e9 }), gpu: opt(num({ min: 0, max: 1e9 })) }),
});
/** Measured capabilities of a contributor. */
export type Capabilities = Infer<typeof parseCapabilities>;
