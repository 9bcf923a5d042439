import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDictionary } from '../core/ocr/index.ts';
import { MeshError } from '../protocol/errors.ts';
import type { PlanOnnxOptions } from './kernels/onnx.ts';
import { DET_OUTPUT } from './ocr-models.ts';
import { MAX_STAGE_RUNS } from './ocr-pipeline.ts';
import { OcrRun, type OcrRunDeps } from './ocr-run.ts';
import type { BestPathModel } from './ocr-recogniser.ts';
import type { JobCost, JobHandle, OcrProgress, OutputTensor } from './types.ts';

const CLASSES = parseDictionary('a\nb');
const URLS = { detector: 'http://c/det.onnx', recogniser: 'http://c/rec.onnx', dictionary: 'http://c/keys.txt' };
const REC: BestPathModel = { bytes: new ArrayBuffer(4), hash: 'e'.repeat(64), indices: 'idx', probs: 'prob' };

/** A job that answers like the models would for white images with one line of text, at `cost`. */
class FakeJob extends EventTarget implements JobHandle<Record<string, OutputTensor>> {
  readonly jobId: Promise<string>;
  readonly result: Promise<Record<string, OutputTensor>>;
  readonly cost: Promise<JobCost>;
  cancelled = false;
  #fail!: (err: Error) => void;
  #pass!: () => void;

  constructor(readonly opts: PlanOnnxOptions, id: string, fail: boolean, answer?: (out: Record<string, OutputTensor>) => Record<string, OutputTensor>) {
    super();
    this.jobId = Promise.resolve(id);
    const x = opts.inputs['x']!;
    const [n, , h, w] = x.dims as [number, number, number, number];
    const gate = new Promise<void>((pass, reject) => {
      this.#pass = pass;
      this.#fail = reject;
    });
    this.result = gate.then(() => {
      if (fail) throw new MeshError('no-capable-peer', 'Cannot run the job as nobody can');
      const detect = opts.outputs[0] === DET_OUTPUT;
      if (detect) {
        const data = new Float32Array(n * h * w);
        for (let i = 0; i < n; i++) for (let y = 8; y < 12; y++) data.fill(0.9, i * h * w + y * w + 4, i * h * w + y * w + 28);
        return { [DET_OUTPUT]: { dtype: 'float32', dims: [n, 1, h, w], data } };
      }
      // Best path: class 'a' at each crop's first step, blanks after.
      const steps = w / 8;
      const indices = BigInt64Array.from({ length: n * steps }, (_, i) => (i % steps === 0 ? 1n : 0n));
      const probs = new Float32Array(n * steps).fill(1);
      const out: Record<string, OutputTensor> = { idx: { dtype: 'int64', dims: [n, steps], data: indices }, prob: { dtype: 'float32', dims: [n, steps], data: probs } };
      return answer ? answer(out) : out;
    });
    this.cost = this.result.then(() => undefined, () => undefined).then(() => ({ spent: 10, fees: 1, refunded: 4, escrow: 15, unknown: 0, source: 'coordinator' }));
    queueMicrotask(() => this.dispatchEvent(new CustomEvent('progress', { detail: { done: 0, total: 1, state: 'running' } })));
  }

  finish(): void {
    this.dispatchEvent(new CustomEvent('progress', { detail: { done: 1, total: 1, state: 'done' } }));
    this.#pass();
  }

  cancel(): Promise<void> {
    this.cancelled = true;
    this.#fail(new MeshError('cancelled', 'Cannot finish the job as it was cancelled'));
    return Promise.resolve();
  }
}

interface DepsOptions {
  failRecognise?: boolean;
  autoFinish?: boolean;
  answer?: (out: Record<string, OutputTensor>) => Record<string, OutputTensor>;
  /** Counts recogniser requests. */
  asked?: { count: number };
}

function deps(jobs: FakeJob[], opts: DepsOptions = {}): OcrRunDeps {
  return {
    urls: URLS,
    classes: () => Promise.resolve(CLASSES),
    recogniser: () => {
      if (opts.asked) opts.asked.count++;
      return Promise.resolve(REC);
    },
    runOnnx(o) {
      const job = new FakeJob(o, `job-${jobs.length}`, opts.failRecognise === true && o.outputs[0] === REC.indices, opts.answer);
      jobs.push(job);
      if (opts.autoFinish !== false) setTimeout(() => job.finish(), 0);
      return job;
    },
  };
}

const white = (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4).fill(255) });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('OcrRun', () => {
  it('runs the detector, then the recogniser, as jobs with the models and shard sizes asked for', async () => {
    const jobs: FakeJob[] = [];
    const run = new OcrRun(deps(jobs), [white(32, 32), white(32, 32), white(64, 32)], { bid: 3, cropsPerShard: 2 });
    const stages: OcrProgress['stage'][] = [];
    run.addEventListener('progress', (e) => stages.push((e as CustomEvent<OcrProgress>).detail.stage));
    const results = await run.result;
    assert.deepEqual(results.map((r) => r.lines.map((l) => l.text)), [['a'], ['a'], ['a']]);
    const model = (j: FakeJob) => ('url' in j.opts.model ? j.opts.model.url : j.opts.model.loaded.hash);
    assert.deepEqual(jobs.map((j) => [model(j), j.opts.inputs['x']!.dims[0], j.opts.itemsPerShard, j.opts.bid, j.opts.outputs.join()]), [
      [URLS.detector, 2, 1, 3, DET_OUTPUT],
      [URLS.detector, 1, 1, 3, DET_OUTPUT],
      [REC.hash, 3, 2, 3, 'idx,prob'],
    ]);
    assert.equal(stages.at(-1), 'done');
    assert.ok(stages.indexOf('recognise') > stages.lastIndexOf('detect'));
    assert.deepEqual(await run.cost, { spent: 30, fees: 3, refunded: 12, escrow: 45, unknown: 0, source: 'coordinator' });
    assert.deepEqual(run.jobIds, ['job-0', 'job-1', 'job-2']);
  });

  it(`runs at most ${MAX_STAGE_RUNS} jobs at once`, async () => {
    const jobs: FakeJob[] = [];
    const images = Array.from({ length: 6 }, (_, i) => white(32 * (i + 1), 32));
    const run = new OcrRun(deps(jobs, { autoFinish: false }), images);
    await tick();
    assert.equal(jobs.length, MAX_STAGE_RUNS);
    jobs[0]!.finish();
    await tick();
    assert.equal(jobs.length, MAX_STAGE_RUNS + 1);
    for (let i = 0; i < 10; i++) {
      for (const j of jobs) j.finish();
      await tick();
    }
    assert.equal((await run.result).length, 6);
  });

  it('a failed job fails the call and cancels the others; the cost still sums every job', async () => {
    const jobs: FakeJob[] = [];
    const run = new OcrRun(deps(jobs, { failRecognise: true }), [white(32, 32)]);
    await assert.rejects(run.result, (err: MeshError) => err.code === 'no-capable-peer');
    assert.equal((await run.cost).spent, 20);
  });

  it('cancel() cancels the running jobs and starts no more', async () => {
    const jobs: FakeJob[] = [];
    const run = new OcrRun(deps(jobs, { autoFinish: false }), [white(32, 32)]);
    await tick();
    await run.cancel();
    await assert.rejects(run.result, (err: MeshError) => err.code === 'cancelled');
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.cancelled, true);
  });

  it('bad images reject the result and cost nothing', async () => {
    const run = new OcrRun(deps([]), [{ width: 2, height: 2, data: new Uint8Array(5) }]);
    await assert.rejects(run.result, /image 0 as its data must hold 2x2x4 bytes/);
    assert.deepEqual(await run.cost, { spent: 0, fees: 0, refunded: 0, escrow: 0, unknown: 0, source: 'coordinator' });
  });

  it('asks for the edited recogniser once per call, however many recogniser jobs run', async () => {
    const jobs: FakeJob[] = [];
    const asked = { count: 0 };
    const images = Array.from({ length: 5 }, (_, i) => white(32 * (i + 1), 32));
    const results = await new OcrRun(deps(jobs, { asked }), images, { maxBatch: 1 }).result;
    assert.equal(results.flatMap((r) => r.lines).length, 5);
    assert.equal(jobs.filter((j) => 'loaded' in j.opts.model).length, 5);
    assert.equal(asked.count, 1);
  });

  it('rejects a recogniser job whose indices are not int64 or whose outputs differ in shape', async () => {
    const asFloat = (out: Record<string, OutputTensor>) => ({ ...out, idx: { ...out['idx']!, dtype: 'float32' as const, data: new Float32Array(out['idx']!.data.length) } });
    await assert.rejects(new OcrRun(deps([], { answer: asFloat }), [white(32, 32)]).result, /'idx' must be int64 and 'prob' float32 of one shape: current values are float32\[1,40\] and float32\[1,40\]/);
    const shorter = (out: Record<string, OutputTensor>) => ({ ...out, prob: { ...out['prob']!, dims: [1, 39] } });
    await assert.rejects(new OcrRun(deps([], { answer: shorter }), [white(32, 32)]).result, /current values are int64\[1,40\] and float32\[1,39\]/);
    const missing = (out: Record<string, OutputTensor>) => ({ idx: out['idx']! });
    await assert.rejects(new OcrRun(deps([], { answer: missing }), [white(32, 32)]).result, /and missing/);
  });
});
