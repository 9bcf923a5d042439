// Benchmark harness for the memory-bound kernels in this page's WebGPU (SwiftShader in headless Chromium, a
// real GPU elsewhere): bench/kernels-timing.ts measures add, softmax and layer norm against the device's copy
// rate; bench/kernels.mjs turns the report into table rows.
import { measureKernels, type KernelsOptions, type KernelsReport } from '../kernels-timing.ts';
import elementwise from '../../shaders/elementwise.wgsl?raw';
import layerNorm from '../../shaders/layernorm.wgsl?raw';
import softmax from '../../shaders/softmax.wgsl?raw';
import { fullComputeLimits } from '../device-limits.ts';

const bench = {
  /** Runs the measurement on a fresh device with the adapter's buffer limits. */
  async run(opts: KernelsOptions = {}): Promise<KernelsReport> {
    if (!navigator.gpu) throw new Error('Cannot run the kernels bench as navigator.gpu is missing: start Chromium with --enable-unsafe-webgpu');
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('Cannot run the kernels bench as no WebGPU adapter was found');
    const device = await adapter.requestDevice({ requiredLimits: fullComputeLimits(adapter) });
    const errors: string[] = [];
    device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
    try {
      const name = adapter.info.description || adapter.info.architecture || 'unknown adapter';
      const report = await measureKernels(device, { elementwise, softmax, layerNorm }, { runtime: `chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'}`, adapter: name }, opts);
      if (errors.length) throw new Error(`Cannot trust the kernels bench as WebGPU reported: ${errors.join('; ')}`);
      return report;
    } finally {
      device.destroy();
    }
  },
};

/** What bench/kernels.mjs reaches through `window.benchKernels`. */
export type KernelsBench = typeof bench;

declare global {
  interface Window {
    benchKernels: KernelsBench;
  }
}

window.benchKernels = bench;
document.body.dataset.ready = 'true';
