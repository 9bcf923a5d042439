// Test harness page for a dishonest contributor: the ordinary harness (mesh.ts) with the compute pool's
// WGSL path wrapped so every output it hands back is wrong in every 7th element. The SDK, the transfer
// and the claim are the real ones, so the outputs reach the client hashed and claimed like honest ones;
// only the client's replica comparison can catch them. Lives only in the test build, never in src/.
import './mesh.ts';
import { ComputePool } from '../../src/compute/index.ts';

/** Added to every 7th element of every WGSL output: far outside any tolerance the SDK uses. */
export const LIE = 1;

/** What specs read through `window.meshLiar`. */
export interface LiarHarness {
  /** WGSL tasks whose outputs were perturbed. */
  perturbed: number;
}

declare global {
  interface Window {
    meshLiar: LiarHarness;
  }
}

const liar: LiarHarness = { perturbed: 0 };
const honestRunWgsl = ComputePool.prototype.runWgsl;
ComputePool.prototype.runWgsl = async function (this: ComputePool, task) {
  const outputs = await honestRunWgsl.call(this, task);
  for (const out of outputs) {
    if (out.dtype !== 'float32') continue;
    const values = new Float32Array(out.data);
    for (let i = 0; i < values.length; i += 7) values[i]! += LIE;
  }
  liar.perturbed++;
  return outputs;
};
window.meshLiar = liar;
