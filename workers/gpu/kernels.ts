/**
 * WGSL sources bundled into the worker (Vite `?raw`). Kept apart from the runner and bench, which take
 * source text as an argument, so those run unchanged under `deno test` (Deno has no `?raw`).
 */
import matmulSource from '../../shaders/matmul.wgsl?raw';
import elementwiseSource from '../../shaders/elementwise.wgsl?raw';

/** shaders/matmul.wgsl. */
export const MATMUL_WGSL: string = matmulSource;
/** shaders/elementwise.wgsl. */
export const ELEMENTWISE_WGSL: string = elementwiseSource;
