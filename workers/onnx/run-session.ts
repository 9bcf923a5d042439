/**
 * One ORT run of an OnnxTask on one session, with no copies of our own:
 * - inputs: ORT tensors are views over the task's (transferred) ArrayBuffers; on the webgpu EP each input is
 *   written straight into a GPU buffer (IO binding), skipping ORT's copy through the wasm heap;
 * - outputs: read back once each (webgpu sessions keep them on the GPU, so getData() maps them into a fresh,
 *   exactly sized ArrayBuffer; wasm outputs already are one), then every ORT tensor is disposed.
 * Outputs are never left on the GPU: a task is one-shot, and nothing chains on this worker.
 * Graph capture (`enableGraphCapture`) is not used. It needs static shapes (PP-OCRv4's are dynamic, so one
 * session per input shape with pinned dims), one bound input buffer per session, and, measured in
 * bench/onnx.mjs on SwiftShader, it saved 0-12% per run while a replay after another session's run on the
 * same device crashed the page (ORT 1.30), which a worker holding several models cannot rule out.
 */
import type * as Ort from 'onnxruntime-web';
import { MeshError } from '../../src/protocol/errors.ts';
import { type DType, tensorBytes } from '../../src/protocol/tensor.ts';
import type { OnnxTask } from '../../src/protocol/worker.ts';
import type { SessionEntry } from './sessions.ts';

/** One output, read back: its ORT type, dims and a typed array over its bytes. */
export interface RunOutput {
  name: string;
  type: string;
  dims: number[];
  data: ArrayBufferView;
}

/** GPUBufferUsage STORAGE | COPY_SRC | COPY_DST, as numbers: the global is missing where WebGPU is (Deno tests). */
const INPUT_USAGE = 0x80 | 0x04 | 0x08;

type TypedArray = Float32Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array;

const VIEW: Record<DType, (b: ArrayBuffer) => TypedArray> = {
  float32: (b) => new Float32Array(b),
  int32: (b) => new Int32Array(b),
  uint32: (b) => new Uint32Array(b),
  int64: (b) => new BigInt64Array(b),
  uint8: (b) => new Uint8Array(b),
};

/** Checks the task's names, dtypes and byte counts against the session; throws RangeError/TypeError. */
export function checkTask(session: Ort.InferenceSession, task: OnnxTask): void {
  for (const name of task.outputNames) {
    if (!session.outputNames.includes(name)) {
      throw new RangeError(`Cannot run ONNX model as it has no output '${name}': its outputs are ${session.outputNames.join(', ')}`);
    }
  }
  const given = new Set<string>();
  for (const t of task.inputs) {
    if (!session.inputNames.includes(t.name)) {
      throw new RangeError(`Cannot run ONNX model as it has no input '${t.name}': its inputs are ${session.inputNames.join(', ')}`);
    }
    if (!VIEW[t.dtype]) throw new TypeError(`Cannot run ONNX model as input '${t.name}' has an unknown dtype: current value is ${String(t.dtype)}`);
    const bytes = tensorBytes(t);
    if (!(t.data instanceof ArrayBuffer) || t.data.byteLength !== bytes) {
      throw new RangeError(`Cannot run ONNX model as input '${t.name}' holds ${t.data?.byteLength} bytes but dtype ${t.dtype} dims [${t.dims.join(',')}] need ${bytes}`);
    }
    given.add(t.name);
  }
  const missing = session.inputNames.filter((n) => !given.has(n));
  if (missing.length > 0) throw new RangeError(`Cannot run ONNX model as inputs are missing: ${missing.join(', ')}`);
}

/** Runs `task` on `entry` and reads every requested output back; outputs come in `task.outputNames` order. */
export async function runSession(entry: SessionEntry, task: OnnxTask): Promise<RunOutput[]> {
  const { session, ort } = entry;
  try {
    checkTask(session, task);
  } catch (err) {
    // The job asks for what its model does not have: the job is wrong, not this peer ('bad-input').
    throw new MeshError('bad-input', (err as Error).message, { cause: err });
  }
  const uploaded: GPUBuffer[] = [];
  let results: Ort.InferenceSession.ReturnType | undefined;
  const feeds: Record<string, Ort.Tensor> = {};
  try {
    const device = entry.ep === 'webgpu' ? ((await ort.env.webgpu.device) as GPUDevice) : undefined;
    for (const t of task.inputs) {
      // writeBuffer takes multiples of 4 bytes; odd-sized (uint8) or empty inputs go through ORT's own copy.
      if (device && t.data.byteLength > 0 && t.data.byteLength % 4 === 0) {
        const buffer = device.createBuffer({
          size: Math.ceil(t.data.byteLength / 16) * 16,
          usage: INPUT_USAGE,
        });
        uploaded.push(buffer);
        device.queue.writeBuffer(buffer, 0, t.data);
        feeds[t.name] = ort.Tensor.fromGpuBuffer(buffer, { dataType: t.dtype, dims: t.dims });
      } else {
        feeds[t.name] = new ort.Tensor(t.dtype, VIEW[t.dtype](t.data), t.dims);
      }
    }
    results = await session.run(feeds, task.outputNames);
    const out: RunOutput[] = [];
    for (const name of task.outputNames) {
      const tensor = results[name]!;
      // getData(true) downloads a GPU output once and frees its GPU memory; CPU outputs come as they are.
      const data = (await tensor.getData(true)) as unknown as ArrayBufferView;
      out.push({ name, type: tensor.type, dims: [...tensor.dims], data });
    }
    return out;
  } catch (err) {
    throw new MeshError('onnx-failed', `Cannot run ONNX model ${task.modelHash} (${entry.ep}): ${(err as Error).message}`, { cause: err });
  } finally {
    for (const t of Object.values(feeds)) t.dispose();
    for (const t of Object.values(results ?? {})) t.dispose();
    for (const b of uploaded) b.destroy();
  }
}
