/**
 * The compute worker's self-test (ComputeWorkerApi.selfTest): what a fresh worker must get right before its
 * contributor takes work again after a fault. `gpu`: the element-wise kernel (y = 2a + 1 over 8 floats) through
 * the same runner leases use, on this worker's device (acquired now if the last one was lost). `onnx`: a one-node
 * model (self-test-model.ts) through ORT's wasm runtime. Each result is checked against the CPU; any difference,
 * error or missing adapter rejects.
 */
import { MeshError } from '../src/protocol/errors.ts';
import { ELEMENTWISE_BINDINGS, ELEMENTWISE_ENTRY_POINT, elementwiseDispatch, elementwiseParams } from '../shaders/elementwise.ts';
import elementwiseWgsl from '../shaders/elementwise.wgsl?raw';
import { runWgsl, sharedGpu } from './gpu/runner.ts';
import { SELF_TEST_IO, selfTestModel } from './onnx/self-test-model.ts';
import type { OnnxSessions } from './onnx/sessions.ts';

const N = 8;
const X = Float32Array.from({ length: N }, (_, i) => i - 3.5);

/** Runs the checks asked for; resolves with the time they took, rejects with the first failure. */
export async function selfTest(sessions: OnnxSessions, opts: { gpu?: boolean; onnx?: boolean }): Promise<{ ms: number }> {
  const started = performance.now();
  if (opts.gpu) await gpuSelfTest();
  if (opts.onnx) await onnxSelfTest(sessions);
  return { ms: performance.now() - started };
}

async function gpuSelfTest(): Promise<void> {
  if (!(await sharedGpu().available())) {
    throw new MeshError('gpu-unavailable', 'Cannot pass the GPU self-test as WebGPU offers no adapter any more');
  }
  const [y] = await runWgsl({
    source: elementwiseWgsl,
    entryPoint: ELEMENTWISE_ENTRY_POINT,
    bindings: [...ELEMENTWISE_BINDINGS],
    inputs: [
      { name: 'a', dtype: 'float32', dims: [N], data: X.slice().buffer },
      { name: 'b', dtype: 'float32', dims: [N], data: new ArrayBuffer(N * 4) },
      { name: 'params', dtype: 'uint32', dims: [4], data: elementwiseParams(N, 'affine', 2, 1) },
    ],
    outputs: [{ name: 'y', dtype: 'float32', dims: [N] }],
    dispatch: elementwiseDispatch(N),
  });
  expectValues('GPU', new Float32Array(y!.data), X.map((x) => 2 * x + 1));
}

async function onnxSelfTest(sessions: OnnxSessions): Promise<void> {
  const ort = await sessions.loadRuntime('wasm');
  const session = await ort.InferenceSession.create(selfTestModel(), { executionProviders: ['wasm'] });
  try {
    const out = await session.run({ [SELF_TEST_IO.input]: new ort.Tensor('float32', X.slice(0, 4), [4]) });
    const y = out[SELF_TEST_IO.output];
    expectValues('ONNX', y?.data as Float32Array, X.slice(0, 4).map((x) => 2 * x));
    y?.dispose();
  } finally {
    await session.release().catch(() => undefined);
  }
}

function expectValues(what: string, got: Float32Array | undefined, want: Float32Array): void {
  const same = got !== undefined && got.length === want.length && got.every((v, i) => v === want[i]);
  if (!same) {
    throw new MeshError('internal', `Cannot pass the ${what} self-test as it computed [${got ? [...got].join(', ') : 'nothing'}]: expected [${[...want].join(', ')}]`);
  }
}
