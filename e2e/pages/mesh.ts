// Test harness page: the SDK as a web page would use it, plus onnxruntime-web called directly in the page
// (the reference the mesh's results are compared with) and deterministic text images as model inputs.
import * as sdk from '../../src/sdk/index.ts';
import * as ort from 'onnxruntime-web';
import { renderTextImages } from './text-images.ts';
import { matmulReference, randomFloats } from '../../shaders/testing/reference.ts';

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;

/** What specs reach through `window.meshTest`. */
export interface MeshTestHarness {
  sdk: typeof sdk;
  ort: typeof ort;
  renderTextImages: typeof renderTextImages;
  randomFloats: typeof randomFloats;
  matmulMaxRel: typeof matmulMaxRel;
}

declare global {
  interface Window {
    meshTest: MeshTestHarness;
  }
}

/** Largest error of c = a x b against an f64 reference, relative to sum_k |a_ik b_kj| per element. */
function matmulMaxRel(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): number {
  const ref = matmulReference(a, b, m, k, n);
  let worst = 0;
  for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(c[i]! - ref.c[i]!) / Math.max(ref.scale[i]!, 1e-6));
  return Number.isNaN(worst) ? Infinity : worst;
}

window.meshTest = { sdk, ort, renderTextImages, randomFloats, matmulMaxRel };
document.body.dataset.ready = 'true';
