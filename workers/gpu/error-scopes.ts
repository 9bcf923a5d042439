/** WebGPU error scopes turned into the project's MeshError codes. */
import { MeshError } from '../../src/protocol/errors.ts';

/**
 * Runs `fn` inside validation and out-of-memory error scopes and turns failures into MeshError:
 * 'gpu-validation' with WebGPU's message (which carries the WGSL compiler's diagnostics), or 'too-large'.
 * A MeshError thrown by `fn` itself is the most specific report and wins over what the scopes caught.
 */
export async function withErrorScopes<T>(device: GPUDevice, what: string, fn: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await fn() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // Pop both scopes whatever happened, so a failure never leaves scopes pushed on the device.
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (!outcome.ok && outcome.error instanceof MeshError) throw outcome.error;
  if (validation) throw new MeshError('gpu-validation', `Cannot ${what} as WebGPU reported: ${validation.message}`);
  if (oom) throw new MeshError('too-large', `Cannot ${what} as the GPU is out of memory: ${oom.message}`);
  if (outcome.ok) return outcome.value;
  const err = outcome.error as Error;
  // Pipeline creation rejects with GPUPipelineError (or OperationError in older engines): a kernel fault.
  if (err?.name === 'GPUPipelineError' || err?.name === 'OperationError') {
    throw new MeshError('gpu-validation', `Cannot ${what}: ${err.message}`, { cause: err });
  }
  throw err;
}
