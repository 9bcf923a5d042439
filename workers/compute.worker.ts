/**
 * The compute worker (a module worker): tasks of every kernel kind through one `run` (workers/kernels: WGSL
 * and the built-in kernels on this worker's own GPU device, ONNX through onnxruntime-web), and the capability
 * probe, exposed with comlink as ComputeWorkerApi. Output buffers are transferred back, never copied; errors
 * keep name, code and message across the boundary.
 */
import * as Comlink from 'comlink';
import { installWireErrors } from '../src/core/wire-errors.ts';
import type { TensorData } from '../src/protocol/tensor.ts';
import type { ComputeWorkerApi, KernelTask, WorkerProbe } from '../src/protocol/worker.ts';
import { cpuGflops, wasmSimd, wasmThreads } from './cpu-probe.ts';
import { matmulConfigName } from '../shaders/matmul.ts';
import { refineMatmul, tunedMatmul } from './gpu/tuned-matmul.ts';
import { sharedGpu } from './gpu/runner.ts';
import { runKernel } from './kernels/index.ts';
import { OnnxSessions } from './onnx/sessions.ts';
import { selfTest } from './self-test.ts';

installWireErrors(Comlink.transferHandlers);

const sessions = new OnnxSessions();
const env = { sessions };

async function probe(): Promise<WorkerProbe> {
  const gpu = sharedGpu();
  let gpuReport: WorkerProbe['gpu'];
  if (await gpu.available()) {
    try {
      gpuReport = await gpu.run(async (h) => {
        // The matmul tuning doubles as the GFLOP/s benchmark: the rate reported is the tuned kernel's.
        const tuned = await tunedMatmul(h);
        return {
          vendor: h.info.vendor,
          architecture: h.info.architecture,
          description: h.info.description,
          features: h.features,
          limits: h.limits,
          gflops: round(tuned.gflops),
          matmul: { config: matmulConfigName(tuned.config), tunedAt: tuned.tunedAt, cached: tuned.cached, trials: tuned.trials },
        };
      });
    } catch (err) {
      // An adapter that cannot create a device or run the kernel is reported as no GPU: the CPU side
      // still contributes, and the matcher never sends WGSL here.
      console.warn(`meshwork: GPU left out of the capability report: ${(err as Error).message}`);
    }
  }
  return {
    ...(gpuReport ? { gpu: gpuReport } : {}),
    wasmSimd: wasmSimd(),
    wasmThreads: wasmThreads(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    cpuGflops: round(cpuGflops()),
    ortEps: gpuReport ? ['wasm', 'webgpu'] : ['wasm'],
  };
}

function transferOut(outputs: TensorData[]): TensorData[] {
  return Comlink.transfer(outputs, [...new Set(outputs.map((t) => t.data))]);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const api: ComputeWorkerApi = {
  probe,
  async run(task: KernelTask) {
    return transferOut(await runKernel(task, env));
  },
  async refineTuning() {
    const gpu = sharedGpu();
    if (!(await gpu.available())) return { complete: true, config: '', gflops: 0, trials: 0 };
    const t = await gpu.run((h) => refineMatmul(h));
    return { complete: t.complete, config: matmulConfigName(t.config), gflops: t.gflops, trials: t.trials };
  },
  async hasOnnxSession(modelHash: string) {
    return sessions.has(modelHash);
  },
  async configure(opts) {
    sessions.configure(opts);
  },
  holdLock(lockName: string) {
    const locks = globalThis.navigator?.locks;
    if (!locks) return Promise.resolve(false);
    // The lock is released only when this worker is gone: the callback's promise never settles.
    return new Promise<boolean>((resolve) => {
      locks.request(lockName, () => {
        resolve(true);
        return new Promise<never>(() => {});
      }).catch(() => resolve(false));
    });
  },
  selfTest(opts) {
    return selfTest(sessions, opts);
  },
};

Comlink.expose(api);
