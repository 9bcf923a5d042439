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
  matmulMismatches: typeof matmulMismatches;
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

/** Elements of c that differ from the exact a x b (for integer inputs whose products and sums are exact in f32). */
function matmulMismatches(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): number {
  let mismatches = 0;
  for (let r = 0; r < m; r++) {
    for (let col = 0; col < n; col++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += a[r * k + i]! * b[i * n + col]!;
      if (c[r * n + col] !== s) mismatches++;
    }
  }
  return mismatches;
}

window.meshTest = { sdk, ort, renderTextImages, randomFloats, matmulMaxRel, matmulMismatches };
document.body.dataset.ready = 'true';
