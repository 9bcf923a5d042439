/** ONNX models: run by onnxruntime-web on the ONNX worker, by any contributor with an execution provider. */
import type { KernelRules } from './types.ts';

/** The rules of the `onnx` kind. */
export const onnxRules: KernelRules<'onnx'> = {
  lane: 'onnx',
  what: 'an ONNX inference',
  perShard: false,
  ineligibility: (caps) => (caps.ortEps.length === 0 ? 'no ONNX runtime execution provider' : null),
};
