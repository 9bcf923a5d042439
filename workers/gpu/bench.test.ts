/// <reference lib="deno.webgpu" />
import { GpuDeviceManager } from './device.ts';
import { benchMatmul } from './bench.ts';

const matmul = await Deno.readTextFile(new URL('../../shaders/matmul.wgsl', import.meta.url));

Deno.test('benchMatmul() reports a positive GFLOP/s and measures within its time budget', async () => {
  const gpu = new GpuDeviceManager();
  const handle = await gpu.acquire();
  const r = await benchMatmul(handle, matmul, 250);
  console.log(`matmul bench on ${handle.info.description}: ${r.gflops.toFixed(2)} GFLOP/s (n=${r.n}, reps=${r.reps}, ${r.ms.toFixed(1)} ms, measuring ${r.totalMs.toFixed(0)} ms, compile ${r.compileMs.toFixed(0)} ms)`);
  if (!(r.gflops > 0 && Number.isFinite(r.gflops))) throw new Error(`bad rate ${r.gflops}`);
  // The budget bounds decisions, not the last submission exactly; allow one measurement of slack.
  if (r.totalMs > 300 + r.ms) throw new Error(`took ${r.totalMs} ms`);
  await gpu.dispose();
});
