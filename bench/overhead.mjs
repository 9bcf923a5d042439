// Mesh overhead: one job on one local contributor (one shard, no replication) against the same computation
// called directly in a page, in the same run. (a) PP-OCRv4 detector on 8 text images 3x160x320 with
// onnxruntime-web in the page at the contributor pool's thread count; (b) a 1024x1024 f32 matmul through a
// ComputePool in the page vs runMatmul with one tile. Both sides run once unmeasured (sessions, pipelines,
// model cache, peer link warm), then alternate direct/mesh; each figure is the median of REPEATS.
import { median, openPage } from './lib.mjs';

const PAGE = '/bench/pages/overhead.html';
const REPEATS = Number(process.env.MESHWORK_BENCH_REPEATS ?? 3);
const BATCH = 8;
const HEIGHT = 160;
const WIDTH = 320;
const N = 1024;
/** Goal: the mesh takes at most 10% longer than the direct call. */
const GOAL = 1.1;

/**
 * Runs `direct` and `mesh` once each to warm up, then REPEATS alternating times. Returns the ms lists, the last
 * mesh result, and per mesh run where its time went (client clock and contributor clock: one machine).
 */
async function measure(direct, mesh, lease) {
  await direct();
  await mesh();
  const directMs = [];
  const meshMs = [];
  const phases = [];
  let last;
  for (let i = 0; i < REPEATS; i++) {
    directMs.push(await direct());
    last = await mesh();
    meshMs.push(last.ms);
    const l = await lease();
    phases.push({
      submit: last.submittedAt - last.startAt,
      assign: l.startAt - last.submittedAt,
      compute: l.computeMs,
      leaseRest: l.doneAt - l.startAt - l.computeMs,
      finish: last.resultAt - l.doneAt,
    });
  }
  const split = Object.fromEntries(Object.keys(phases[0]).map((k) => [k, median(phases.map((p) => p[k]))]));
  return { directMs, meshMs, last, split };
}

function rows(measure, { directMs, meshMs, last, split }, extra, movedBytes) {
  const value = median(meshMs);
  const baseline = median(directMs);
  const runs = (xs) => xs.map((x) => x.toFixed(0)).join('/');
  const f = (x) => x.toFixed(0);
  return [
    {
      bench: 'overhead',
      measure: `${measure}, ms, mesh vs direct`,
      value,
      baseline,
      ratio: value / baseline,
      note: `median of ${REPEATS}; ms mesh ${runs(meshMs)}, direct ${runs(directMs)}; max|mesh-direct| ${last.maxAbsDiff.toExponential(1)}; ${extra}; goal ratio <= ${GOAL}`,
    },
    {
      bench: 'overhead',
      measure: `${measure}, contributor compute ms vs direct`,
      value: split.compute,
      baseline,
      ratio: split.compute / baseline,
      note: `mesh time split (medians, ms): plan+sign+submit ${f(split.submit)}, match+assign+shard frame ${f(split.assign)}, `
        + `in lease besides compute (need, inputs in + hash, outputs out + hash, claim) ${f(split.leaseRest)}, to client result ${f(split.finish)}; `
        + `${(movedBytes / 1e6).toFixed(1)} MB of tensors per job (before blob compression)`,
    },
  ];
}

/** Rows for `npm run bench`: mesh ms vs direct ms for the detector batch and the matmul. */
export async function benchOverhead({ browser, baseURL }) {
  const contributor = await openPage(browser, baseURL, PAGE);
  const client = await openPage(browser, baseURL, PAGE);
  try {
    await contributor.evaluate(() => window.benchOverhead.connect());
    const pool = await contributor.evaluate(() => window.benchOverhead.contribute());
    await client.evaluate(() => window.benchOverhead.connect());

    const setup = await client.evaluate(([b, h, w]) => window.benchOverhead.setupOnnx(b, h, w), [BATCH, HEIGHT, WIDTH]);
    if (setup.threads !== pool.threads) {
      throw new Error(`Cannot compare the detector runs as the page uses ${setup.threads} ORT threads and the contributor ${pool.threads}`);
    }
    const lease = () => contributor.evaluate(() => window.benchOverhead.lastLease());
    const onnx = await measure(
      () => client.evaluate(() => window.benchOverhead.onnxDirect()),
      () => client.evaluate(() => window.benchOverhead.onnxMesh()),
      lease,
    );

    const cacheMs = [];
    for (let i = 0; i < REPEATS; i++) cacheMs.push(await contributor.evaluate(() => window.benchOverhead.modelCacheReadMs()));

    await client.evaluate((n) => window.benchOverhead.setupMatmul(n), N);
    const matmul = await measure(
      () => client.evaluate(() => window.benchOverhead.matmulDirect()),
      () => client.evaluate(() => window.benchOverhead.matmulMesh()),
      lease,
    );
    const shards = await contributor.evaluate(() => window.benchOverhead.shardsRun());
    const expected = 2 * (REPEATS + 1);
    if (shards !== expected) throw new Error(`Cannot trust the overhead runs as the contributor ran ${shards} shards, not ${expected}`);

    const isolated = setup.crossOriginIsolated && pool.crossOriginIsolated ? 'isolated' : 'NOT cross-origin isolated';
    const onnxBytes = BATCH * HEIGHT * WIDTH * 4 * (3 + 1); // f32 inputs [B,3,H,W] and probability map [B,1,H,W]
    const matmulBytes = 3 * N * N * 4; // A and B in, C out
    const onnxRows = rows(`PP-OCRv4 det ${BATCH}x3x${HEIGHT}x${WIDTH}`, onnx, `direct = ORT wasm in the page; ${setup.threads} ORT threads both, ${isolated}`, onnxBytes);
    onnxRows[1].note += `; IndexedDB read of the 4.7 MB model ${median(cacheMs).toFixed(0)} ms (paid only when the worker has no session for it)`;
    return [
      ...onnxRows,
      ...rows(`matmul ${N}x${N}x${N} f32`, matmul, 'direct = ComputePool.runWgsl in the page; one tile = one shard, WebGPU (SwiftShader)', matmulBytes),
    ];
  } finally {
    await Promise.all([contributor, client].map((p) => p.evaluate(() => window.benchOverhead.close()).catch(() => {})));
    await Promise.all([contributor, client].map((p) => p.context().close()));
  }
}
