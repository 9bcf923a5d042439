import * as v from 'valibot';
import { int, list, real, text } from './_fields.ts';
import { TensorSpecSchema } from './tensor.ts';
import { parser } from './validate.ts';

/** Lower-case hex SHA-256, the content address of models and blobs. */
export const Sha256Schema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
/** Validates a lower-case hex SHA-256. */
export const parseSha256 = parser(Sha256Schema);

/** An ONNX model, addressed by the SHA-256 of its bytes. */
export const OnnxKernelSchema = v.strictObject({
  kind: v.literal('onnx'),
  model: v.strictObject({
    hash: Sha256Schema,
    bytes: int(1, 2 ** 31),
    url: v.exactOptional(text(0, 2048)),
    name: v.exactOptional(text(0, 200)),
  }),
  outputs: list(text(1, 128), 1, 64),
});

/** How a WGSL binding is fed: read-only input, uniform parameters, or an output read back. */
export const BINDING_ROLES = ['input', 'uniform', 'output'] as const;

/** A WGSL compute kernel: source, entry point and the layout of its bindings (all in group 0). */
export const WgslKernelSchema = v.strictObject({
  kind: v.literal('wgsl'),
  source: text(1, 256 * 1024),
  entryPoint: v.pipe(v.string(), v.minLength(1), v.maxLength(128), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)),
  bindings: list(v.strictObject({ binding: int(0, 31), role: v.picklist(BINDING_ROLES) }), 1, 16),
});

/**
 * The built-in f32 matmul: each shard carries `a` [rows, k] and `b` [k, cols] and returns `c` [rows, cols].
 * The contributor runs it with the tile configuration tuned for its own adapter (and splits it to fit its
 * limits), which a client-chosen WGSL source could not do.
 */
export const MatmulKernelSchema = v.strictObject({ kind: v.literal('matmul') });

/** Ops of the built-in row kernels (shaders/: reduce, softmax, layer norm, element-wise), each over the rows of an f32 matrix. */
export const ROW_OPS = ['sum', 'max', 'softmax', 'layernorm', 'add', 'mul', 'relu', 'affine'] as const;
/** One row-kernel op. */
export type RowOp = typeof ROW_OPS[number];

/** Largest magnitude of an f32 parameter: beyond it the kernel would compute with infinity. */
const F32_MAX = 3.4028234663852886e38;

/**
 * The built-in row kernels, one op per job over the rows of an f32 matrix x [rows, cols], each shard a block of
 * rows: 'sum' and 'max' reduce each row (y [rows]); 'softmax' normalises each row; 'layernorm' normalises each
 * row to gamma * (x - mean) / sqrt(var + eps) + beta (gamma and beta [cols] come with every shard); 'add' and
 * 'mul' combine x with b of x's shape; 'relu' is max(x, 0); 'affine' is x * alpha + beta. Each op carries
 * exactly its own parameters (a variant on `op`). The contributor picks workgroup width and vector variant.
 */
export const RowsKernelSchema = v.variant('op', [
  v.strictObject({ kind: v.literal('rows'), op: v.picklist(['sum', 'max', 'softmax', 'add', 'mul', 'relu']) }),
  v.strictObject({ kind: v.literal('rows'), op: v.literal('layernorm'), eps: v.exactOptional(real(0, 1)) }),
  v.strictObject({ kind: v.literal('rows'), op: v.literal('affine'), alpha: real(-F32_MAX, F32_MAX), beta: real(-F32_MAX, F32_MAX) }),
]);

/**
 * The kernel a job runs on every shard, tagged by `kind`. The table of kinds on the wire: a new kind adds its
 * schema above and one entry here (and one in worker.ts `KernelTasks`); its rules and code live in its own
 * three files (src/core/kernels, src/sdk/kernels, workers/kernels), each listed in its folder's table.
 */
export const KernelSpecSchema = v.variant('kind', [OnnxKernelSchema, WgslKernelSchema, MatmulKernelSchema, RowsKernelSchema]);
/** Kernel of a job. */
export type KernelSpec = v.InferOutput<typeof KernelSpecSchema>;
/** A kernel's kind: the tag of KernelSpec and the key of every per-kind table. */
export type KernelKind = KernelSpec['kind'];
/** The kernel spec of one kind. */
export type KernelOf<K extends KernelKind> = Extract<KernelSpec, { kind: K }>;
/** ONNX kernel. */
export type OnnxKernel = v.InferOutput<typeof OnnxKernelSchema>;
/** WGSL kernel. */
export type WgslKernel = v.InferOutput<typeof WgslKernelSchema>;
/** Built-in matmul kernel. */
export type MatmulKernel = v.InferOutput<typeof MatmulKernelSchema>;
/** Row-kernel kernel. */
export type RowsKernel = v.InferOutput<typeof RowsKernelSchema>;
/** Validates an ONNX kernel. */
export const parseOnnxKernel = parser(OnnxKernelSchema);
/** Validates a WGSL kernel. */
export const parseWgslKernel = parser(WgslKernelSchema);
/** Validates the built-in matmul kernel. */
export const parseMatmulKernel = parser(MatmulKernelSchema);
/** Validates a row-kernel kernel. */
export const parseRowsKernel = parser(RowsKernelSchema);
/** Validates the kernel of a job. */
export const parseKernelSpec = parser(KernelSpecSchema);

const workgroups = int(1, 65535);

/**
 * One shard of a job. `inputs` are the tensors the shard needs, in order (for WGSL: one per `input` or
 * `uniform` binding, in binding order); `outputs` describes what comes back (for WGSL: one per `output`
 * binding; for ONNX the names the client expects). `inputHash` is the SHA-256 of the inputs' bytes
 * concatenated in order.
 */
export const ShardSpecSchema = v.strictObject({
  index: int(0, 1_000_000),
  inputs: list(TensorSpecSchema, 1, 64),
  outputs: list(TensorSpecSchema, 1, 64),
  inputHash: Sha256Schema,
  workUnits: int(1, 1e12),
  dispatch: v.exactOptional(v.strictTuple([workgroups, workgroups, workgroups])),
});
/** One shard of a job. */
export type ShardSpec = v.InferOutput<typeof ShardSpecSchema>;
/** Validates one shard of a job. */
export const parseShardSpec = parser(ShardSpecSchema);
