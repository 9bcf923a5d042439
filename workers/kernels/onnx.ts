/** ONNX tasks: onnxruntime-web through this worker's cached sessions (workers/onnx). */
import { runOnnx } from '../onnx/runner.ts';
import type { KernelRun } from './types.ts';

/** Runs an ONNX task. */
export const runOnnxKernel: KernelRun<'onnx'> = (task, env) => runOnnx(env.sessions, task);
