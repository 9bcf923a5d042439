import { arr, type Infer, num, obj, oneOf, opt, str, tagged, lit, tuple } from './validate.ts';
import { parseTensorSpec } from './tensor.ts';

/** Lower-case hex SHA-256, the content address of models and blobs. */
export const parseSha256 = str({ pattern: /^[0-9a-f]{64}$/ });

/** An ONNX model, addressed by the SHA-256 of its bytes. */
export const parseOnnxKernel = obj({
  kind: lit('onnx'),
  model: obj({
    hash: parseSha256,
    bytes: num({ int: true, min: 1, max: 2 ** 31 }),
    url: opt(str({ max: 2048 })),
    name: opt(str({ max: 200 })),
  }),
  outputs: arr(str({ min: 1, max: 128 }), { min: 1, max: 64 }),
});

/** How a WGSL binding is fed: read-only input, uniform parameters, or an output read back. */
export const BINDING_ROLES = ['input', 'uniform', 'output'] as const;

/** A WGSL compute kernel: source, entry point and the layout of its bindings (all in group 0). */
export const parseWgslKernel = obj({
  kind: lit('wgsl'),
  source: str({ min: 1, max: 256 * 1024 }),
  entryPoint: str({ min: 1, max: 128, pattern: /^[A-Za-z_][A-Za-z0-9_]*$/ }),
  bindings: arr(obj({ binding: num({ int: true, min: 0, max: 31 }), role: oneOf(...BINDING_ROLES) }), {
    min: 1,
    max: 16,
  }),
});

/**
 * The built-in f32 matmul: each shard carries `a` [rows, k] and `b` [k, cols] and returns `c` [rows, cols].
 * The contributor runs it with the tile configuration tuned for its own adapter (and splits it to fit its
 * limits), which a client-chosen WGSL source could not do.
 */
export const parseMatmulKernel = obj({ kind: lit('matmul') });

/** The kernel a job runs on every shard. */
export const parseKernelSpec = tagged({ onnx: parseOnnxKernel, wgsl: parseWgslKernel, matmul: parseMatmulKernel }, 'kind');
/** Kernel of a job. */
export type KernelSpec = Infer<typeof parseKernelSpec>;
/** ONNX kernel. */
export type OnnxKernel = Infer<typeof parseOnnxKernel>;
/** WGSL kernel. */
export type WgslKernel = Infer<typeof parseWgslKernel>;
/** Built-in matmul kernel. */
export type MatmulKernel = Infer<typeof parseMatmulKernel>;

/**
 * One shard of a job. `inputs` are the tensors the shard needs, in order (for WGSL: one per `input` or
 * `uniform` binding, in binding order); `outputs` describes what comes back (for WGSL: one per `output`
 * binding; for ONNX the names the client expects). `inputHash` is the SHA-256 of the inputs' bytes
 * concatenated in order.
 */
export const parseShardSpec = obj({
  index: num({ int: true, min: 0, max: 1_000_000 }),
  inputs: arr(parseTensorSpec, { min: 1, max: 64 }),
  outputs: arr(parseTensorSpec, { min: 1, max: 64 }),
  inputHash: parseSha256,
  workUnits: num({ int: true, min: 1, max: 1e12 }),
  dispatch: opt(tuple(num({ int: true, min: 1, max: 65535 }), num({ int: true, min: 1, max: 65535 }), num({ int: true, min: 1, max: 65535 }))),
});
/** One shard of a job. */
export type ShardSpec = Infer<typeof parseShardSpec>;
