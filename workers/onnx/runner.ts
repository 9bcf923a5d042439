/**
 * Runs one OnnxTask: protocol TensorData in, ORT tensors through the cached session, TensorData out
 * (each output in an ArrayBuffer of its own, ready to transfer). int64 travels as BigInt64Array bytes.
 */
import type * as Ort from 'onnxruntime-web';
import { MeshError } from '../../src/protocol/errors.ts';
import { type DType, tensorBytes, type TensorData } from '../../src/protocol/tensor.ts';
import type { OnnxTask } from '../../src/protocol/worker.ts';
import type { OnnxSessions } from './sessions.ts';

const VIEW: Record<DType, (b: ArrayBuffer) => Float32Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array> = {
  float32: (b) => new Float32Array(b),
  int32: (b) => new Int32Array(b),
  uint32: (b) => new Uint32Array(b),
  int64: (b) => new BigInt64Array(b),
  uint8: (b) => new Uint8Array(b),
};

/** ORT output types and the protocol dtype they travel as (bool is one byte per element, like uint8). */
const FROM_ORT: Partial<Record<string, DType>> = {
  float32: 'float32',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint8: 'uint8',
  bool: 'uint8',
};

/** Runs `task` with a session from `sessions`; outputs come back in `task.outputNames` order. */
export async function runOnnx(sessions: OnnxSessions, task: OnnxTask): Promise<TensorData[]> {
  const { session, ort } = await sessions.get(task.modelHash, task.model, task.ep);
  const feeds = toFeeds(ort, session, task);
  for (const name of task.outputNames) {
    if (!session.outputNames.includes(name)) {
      throw new RangeError(`Cannot run ONNX model as it has no output '${name}': its outputs are ${session.outputNames.join(', ')}`);
    }
  }
  let results: Ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds, task.outputNames);
  } catch (err) {
    throw new MeshError('onnx-failed', `Cannot run ONNX model ${task.modelHash}: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const t of Object.values(feeds)) t.dispose();
  }
  try {
    const out: TensorData[] = [];
    for (const name of task.outputNames) out.push(await fromOrt(name, results[name]!));
    return out;
  } finally {
    for (const t of Object.values(results)) t.dispose();
  }
}

function toFeeds(ort: typeof Ort, session: Ort.InferenceSession, task: OnnxTask): Record<string, Ort.Tensor> {
  const feeds: Record<string, Ort.Tensor> = {};
  for (const t of task.inputs) {
    if (!session.inputNames.includes(t.name)) {
      throw new RangeError(`Cannot run ONNX model as it has no input '${t.name}': its inputs are ${session.inputNames.join(', ')}`);
    }
    const view = VIEW[t.dtype];
    if (!view) throw new TypeError(`Cannot run ONNX model as input '${t.name}' has an unknown dtype: current value is ${String(t.dtype)}`);
    const bytes = tensorBytes(t);
    if (!(t.data instanceof ArrayBuffer) || t.data.byteLength !== bytes) {
      throw new RangeError(`Cannot run ONNX model as input '${t.name}' holds ${t.data?.byteLength} bytes but dtype ${t.dtype} dims [${t.dims.join(',')}] need ${bytes}`);
    }
    feeds[t.name] = new ort.Tensor(t.dtype, view(t.data), t.dims);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) throw new RangeError(`Cannot run ONNX model as inputs are missing: ${missing.join(', ')}`);
  return feeds;
}

async function fromOrt(name: string, tensor: Ort.Tensor): Promise<TensorData> {
  const dtype = FROM_ORT[tensor.type];
  if (!dtype) throw new MeshError('onnx-failed', `Cannot return ONNX output '${name}' as its type ${tensor.type} has no protocol dtype`);
  // getData() downloads GPU-resident outputs; CPU ones come back as they are.
  const data = (await tensor.getData()) as ArrayBufferView;
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const buffer = whole ? (data.buffer as ArrayBuffer) : copy(data);
  return { name, dtype, dims: [...tensor.dims], data: buffer };
}

function copy(view: ArrayBufferView): ArrayBuffer {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
}
