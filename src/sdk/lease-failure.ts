/**
 * What a contributor tells the coordinator (`fail`) when it could not run a lease: every failure of the local
 * compute step maps to one class of LEASE_FAILURES. Local faults (the worker crashed or hung, the GPU device was
 * lost, a cached model failed its hash, memory ran out) say the shard may run here again once this peer healed;
 * 'unsupported' and 'bad-input' say it cannot run here as given. None of them claims a wrong result: that is for
 * verification alone, so a broken GPU is never taken for a cheat.
 *
 * Failures outside the compute step (the link, the client's inputs, a revoke) are not the contributor's to
 * report: the client or the coordinator already knows, and `classify` is not asked about them.
 */
import type { LeaseFailure } from '../protocol/coordinator.ts';
import { type ErrorCode, MeshError } from '../protocol/errors.ts';

/** Where the model bytes of an ONNX lease came from: the worker's session, the model cache, or the client. */
export type ModelSource = 'session' | 'cache' | 'peer' | 'none';

/** A compute failure with its class. */
export interface ClassifiedFailure {
  reason: LeaseFailure;
  message: string;
}

/** Messages of runtimes (ORT's wasm heap, V8's ArrayBuffer allocator, WebGPU) that ran out of memory. */
const OOM = /out of memory|\bOOM\b|bad_alloc|failed to allocate|allocation failed|Array buffer allocation|memory access out of bounds/i;

const BY_CODE: Partial<Record<ErrorCode, LeaseFailure>> = {
  'worker-crashed': 'worker-crashed',
  'timeout': 'timeout',
  'device-lost': 'device-lost',
  'gpu-device-lost': 'device-lost',
  'cache-corrupt': 'cache-corrupt',
  'out-of-memory': 'out-of-memory',
  'unsupported': 'unsupported',
  'bad-input': 'bad-input',
  // This runtime lacks what the kernel needs (no adapter, a limit below the shard's buffers).
  'gpu-unavailable': 'unsupported',
  'too-large': 'unsupported',
  'unsupported-version': 'unsupported',
  // The kernel does not compile or validate, or the shard does not fit its own description: the job is wrong.
  'gpu-validation': 'bad-input',
  'invalid-message': 'bad-input',
};

/**
 * The class of a failure of the compute step of a lease whose model came from `source`, or undefined when it is
 * no fault of this peer to report (the lease was cancelled: revoked, or the contributor stopped).
 */
export function classifyComputeFailure(err: unknown, source: ModelSource): ClassifiedFailure | undefined {
  const message = clip(err instanceof Error ? err.message : String(err));
  if (!(err instanceof Error)) return { reason: 'worker-crashed', message };
  if (OOM.test(err.message) || (err.name === 'RangeError' && /alloc/i.test(err.message))) return { reason: 'out-of-memory', message };
  if (!(err instanceof MeshError)) return { reason: 'worker-crashed', message };
  if (err.code === 'cancelled') return undefined;
  // Model bytes from this peer's cache that do not hash to their key, or that left it during the lease.
  if ((err.code === 'hash-mismatch' || err.code === 'not-found') && (source === 'cache' || source === 'session')) return { reason: 'cache-corrupt', message };
  // Bytes from the client were checked on arrival, so a mismatch now is the client's model, not ours.
  if (err.code === 'hash-mismatch') return { reason: 'bad-input', message };
  // ORT itself would not load here; otherwise it refused the model or its inputs (memory faults are caught above).
  if (err.code === 'onnx-failed') return { reason: /Cannot load onnxruntime-web/.test(err.message) ? 'unsupported' : 'bad-input', message };
  return { reason: BY_CODE[err.code] ?? 'worker-crashed', message };
}

/** The `fail` frame's message is at most 500 characters. */
function clip(message: string): string {
  return message.length <= 500 ? message : `${message.slice(0, 497)}...`;
}
