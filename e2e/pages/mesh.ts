// Test harness page: the SDK as a web page would use it, plus onnxruntime-web called directly in the page
// (the reference the mesh's results are compared with) and deterministic text images as model inputs.
import * as sdk from '../../src/sdk/index.ts';
import * as ort from 'onnxruntime-web';
import { renderTextImages } from './text-images.ts';

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;

/** What specs reach through `window.meshTest`. */
export interface MeshTestHarness {
  sdk: typeof sdk;
  ort: typeof ort;
  renderTextImages: typeof renderTextImages;
}

declare global {
  interface Window {
    meshTest: MeshTestHarness;
  }
}

window.meshTest = { sdk, ort, renderTextImages };
document.body.dataset.ready = 'true';
