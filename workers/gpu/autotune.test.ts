/// <reference lib="deno.webgpu" />
import { MATMUL_CANDIDATES, MATMUL_DEFAULT, matmulConfigFits, matmulConfigName } from '../../shaders/matmul.ts';
import { autotuneMatmul, usableConfig } from './autotune.ts';

async function device(): Promise<{ device: GPUDevice; limits: GPUSupportedLimits }> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('Cannot run GPU tests as no WebGPU adapter was found');
  const device = await adapter.requestDevice({ requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize } });
  return { device, limits: device.limits };
}

Deno.test('autotuneMatmul() times every fitting candidate and returns the fastest of them', async () => {
  const { device: d, limits } = await device();
  const r = await autotuneMatmul(d, limits, { n: 128, budgetMs: 60_000 });
  console.log(`tuned at n=${r.n} x${r.reps} in ${r.ms.toFixed(0)} ms: ${r.trials.map((t) => `${t.name} ${t.gflops.toFixed(2)}`).join(', ')}`);
  const fitting = MATMUL_CANDIDATES.filter((c) => matmulConfigFits(c, limits)).length;
  if (fitting < 2 || r.trials.length !== fitting || r.skipped !== 0) throw new Error(`Expected all ${fitting} fitting candidates timed, got ${r.trials.length} (skipped ${r.skipped})`);
  const fastest = Math.max(...r.trials.map((t) => t.gflops));
  if (r.gflops !== fastest) throw new Error(`Expected the fastest trial (${fastest}) to win, got ${r.gflops}`);
  if (r.trials.find((t) => t.gflops === fastest)!.name !== matmulConfigName(r.config)) throw new Error('Winner and config disagree');
  d.destroy();
});

Deno.test('autotuneMatmul() stops timing when the budget is spent and still returns a timed config', async () => {
  const { device: d, limits } = await device();
  const r = await autotuneMatmul(d, limits, { n: 64, budgetMs: 0 });
  const fitting = MATMUL_CANDIDATES.filter((c) => matmulConfigFits(c, limits)).length;
  if (r.trials.length !== 1 || r.skipped !== fitting - 1) throw new Error(`Expected only the default timed, got ${r.trials.length} trials, ${r.skipped} skipped`);
  if (matmulConfigName(r.config) !== matmulConfigName(MATMUL_DEFAULT)) throw new Error(`Expected the default, got ${matmulConfigName(r.config)}`);
  d.destroy();
});

Deno.test('autotuneMatmul() leaves out candidates beyond the limits and refuses when none fits', async () => {
  const { device: d } = await device();
  const limits = { maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 64, maxComputeWorkgroupSizeY: 64, maxComputeWorkgroupStorageSize: 16384 };
  const r = await autotuneMatmul(d, limits, { n: 64, budgetMs: 60_000 });
  for (const t of r.trials) if (!['32x32x16/4x4', '64x64x16/8x8'].includes(t.name)) throw new Error(`Expected only 64-thread configs, got ${t.name}`);
  let threw = false;
  try {
    await autotuneMatmul(d, { ...limits, maxComputeInvocationsPerWorkgroup: 8 }, { n: 64 });
  } catch (e) {
    threw = e instanceof RangeError && /no candidate fits/.test(e.message);
  }
  if (!threw) throw new Error('Expected a RangeError naming that no candidate fits');
  d.destroy();
});

Deno.test('usableConfig() keeps a valid cached config and falls back to the default for junk', () => {
  const limits = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 16384 };
  const good = { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 };
  if (matmulConfigName(usableConfig({ ...good, extra: 1 }, limits)) !== '128x128x8/8x8') throw new Error('Expected the cached config kept');
  if (matmulConfigName(usableConfig({ ...good, prefetch: true }, limits)) !== '128x128x8/8x8+p') throw new Error('Expected prefetch kept');
  for (const junk of [null, 'x', { bm: 3 }, { ...good, bk: 64 }, { ...good, prefetch: 'yes' }]) {
    if (matmulConfigName(usableConfig(junk, limits)) !== matmulConfigName(MATMUL_DEFAULT)) throw new Error(`Expected the default for ${JSON.stringify(junk)}`);
  }
});
