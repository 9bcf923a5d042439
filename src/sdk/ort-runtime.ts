/**
 * onnxruntime-web (WASM) for the page, imported when first used (it is not part of the SDK's own bundle), its
 * files loaded from `${base}ort/`. One runtime per page: the first caller's base and thread count hold.
 */
import type * as Ort from 'onnxruntime-web';

/** The onnxruntime-web module. */
export type OrtModule = typeof Ort;

let runtime: Promise<OrtModule> | undefined;

/** The page's onnxruntime-web, loaded on first call. */
export function loadRuntime(base: string, threads: number): Promise<OrtModule> {
  runtime ??= (async () => {
    const ort: OrtModule = await import('onnxruntime-web/wasm');
    ort.env.wasm.wasmPaths = new URL('ort/', `${base.replace(/\/+$/, '')}/`).href;
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? threads : 1;
    ort.env.logLevel = 'error';
    return ort;
  })();
  runtime.catch(() => (runtime = undefined));
  return runtime;
}
