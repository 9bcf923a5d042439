/**
 * Runs one OnnxTask: protocol TensorData in, ORT through the cached session, TensorData out (each output
 * in an ArrayBuffer of its own, ready to transfer). int64 travels as BigInt64Array bytes.
 * `ep` 'wasm' or 'webgpu' runs there (webgpu falls back to wasm without an adapter); 'auto' or no `ep`
 * runs where the probe measured this model fastest on this worker (ep-probe.ts).
 */
import { MeshError } from '../../src/protocol/errors.ts';
import type { DType, TensorData } from '../../src/protocol/tensor.ts';
import type { OnnxTask } from '../../src/protocol/worker.ts';
import { runAuto } from './ep-probe.ts';
import { type RunOutput, runSession } from './run-session.ts';
import type { OnnxSessions } from './sessions.ts';

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
  const ep = task.ep ?? 'auto';
  let outputs: RunOutput[];
  if (ep === 'auto') {
    outputs = (await runAuto(sessions, task)).outputs;
  } else if (ep === 'wasm' || ep === 'webgpu') {
    outputs = await runSession(await sessions.get(task.modelHash, task.model, ep), task);
  } else {
    throw new TypeError(`Cannot run ONNX model as 'ep' must be 'auto', 'wasm' or 'webgpu': current value is ${String(ep)}`);
  }
  return outputs.map(toTensorData);
}

/** Protocol form of a read-back output; its bytes are moved, not copied, when they fill their buffer. */
export function toTensorData(out: RunOutput): TensorData {
  const dtype = FROM_ORT[out.type];
  if (!dtype) throw new MeshError('onnx-failed', `Cannot return ONNX output '${out.name}' as its type ${out.type} has no protocol dtype`);
  const { data } = out;
  // ORT hands back a fresh typed array per output (copied out of the wasm heap, or mapped from the GPU and
  // sliced to size), so the whole buffer is the tensor: transfer it as is. Only a view into a larger or
  // shared buffer is copied.
  const whole = data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  const buffer = whole ? (data.buffer as ArrayBuffer) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
  return { name: out.name, dtype, dims: out.dims, data: buffer };
}
