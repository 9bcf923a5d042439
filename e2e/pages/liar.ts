// Test harness page for a dishonest contributor: the ordinary harness (mesh.ts) with the compute pool's
// GPU kinds (WGSL, the built-in matmul, row kernels) wrapped so every output they hand back is wrong in every 7th element. The SDK, the transfer
// and the claim are the real ones, so the outputs reach the client hashed and claimed like honest ones;
// only the client's replica comparison can catch them. Lives only in the test build, never in src/.
import './mesh.ts';
import { ComputePool } from '../../src/compute/index.ts';
import type { TensorData } from '../../src/protocol/tensor.ts';

/** Added to every 7th element of every GPU output: far outside any tolerance the SDK uses. */
export const LIE = 1;

/** What specs read through `window.meshLiar`. */
export interface LiarHarness {
  /** GPU tasks (WGSL, matmul or row kernels) whose outputs were perturbed. */
  perturbed: number;
}

declare global {
  interface Window {
    meshLiar: LiarHarness;
  }
}

const liar: LiarHarness = { perturbed: 0 };

function perturb(outputs: TensorData[]): void {
  for (const out of outputs) {
    if (out.dtype !== 'float32') continue;
    const values = new Float32Array(out.data);
    for (let i = 0; i < values.length; i += 7) values[i]! += LIE;
  }
  liar.perturbed++;
}

// Every kind goes through run() (the wrappers runWgsl/runMatmul too); only the GPU kinds lie.
const honestRun = ComputePool.prototype.run;
ComputePool.prototype.run = async function (this: ComputePool, task, opts) {
  const outputs = await honestRun.call(this, task, opts);
  if (task.kind !== 'onnx') perturb(outputs);
  return outputs;
};
window.meshLiar = liar;
