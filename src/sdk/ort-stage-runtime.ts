/** Stage timing (stage-timing.ts) with onnxruntime-web (WASM) in this page, loaded on first use (ort-runtime.ts). */
import type * as Ort from 'onnxruntime-web';
import { defaultCoordinator } from './default-coordinator.ts';
import { loadRuntime } from './ort-runtime.ts';
import type { StageRuntime } from './stage-timing.ts';
import type { InputTensor } from './types.ts';

/** onnxruntime-web as a StageRuntime; `base`: where its files are served (default: this SDK's coordinator). */
export async function ortStageRuntime(base?: string, threads = 1): Promise<StageRuntime<Ort.Tensor>> {
  const ort = await loadRuntime(base ?? defaultCoordinator(import.meta.url, globalThis.location?.origin), threads);
  return {
    tensor: (t: InputTensor) => new ort.Tensor(t.dtype, t.data as Ort.Tensor.DataType, t.dims),
    async load(model: Uint8Array) {
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      return {
        run: (feeds: Record<string, Ort.Tensor>) => session.run(feeds) as Promise<Record<string, Ort.Tensor>>,
        release: () => session.release(),
      };
    },
  };
}
