/**
 * ONNX models: run by onnxruntime-web on the ONNX worker, by any contributor with an execution provider whose
 * reported memory holds the model's session (a pipeline stage, when the whole model is too big for one).
 */
import type { KernelRules } from './types.ts';

/** Memory an ONNX session takes per byte of its model, about (weights, their runtime copies, activations). */
export const ONNX_MEMORY_FACTOR = 4;

/** The rules of the `onnx` kind. */
export const onnxRules: KernelRules<'onnx'> = {
  lane: 'onnx',
  what: 'an ONNX inference',
  perShard: false,
  able: (caps) => caps.ortEps.length > 0,
  ineligibility(caps, kernel) {
    if (caps.ortEps.length === 0) return 'no ONNX runtime execution provider';
    const need = kernel.model.bytes * ONNX_MEMORY_FACTOR;
    if (caps.memoryGiB !== undefined && need > caps.memoryGiB * 2 ** 30) return `model needs about ${need} bytes of memory, more than the contributor's ${caps.memoryGiB} GiB`;
    // The budget the contributor's person set for models, when they set one (ContributeOptions.modelMemoryMB).
    if (caps.modelMemoryMB !== undefined && need > caps.modelMemoryMB * 2 ** 20) {
      return `model needs about ${Math.ceil(need / 2 ** 20)} MiB of memory (${ONNX_MEMORY_FACTOR} x its ${kernel.model.bytes} bytes), more than the ${caps.modelMemoryMB} MiB the contributor allows for models`;
    }
    return null;
  },
};
