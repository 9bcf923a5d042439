import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../protocol/errors.ts';
import { type CrashDetail, type SupervisedWorker, WorkerSupervisor } from './supervisor.ts';

/** A worker stand-in: calls resolve when the test says so; it can throw (error event), exit or hang. */
class FakeWorker implements SupervisedWorker<FakeApi> {
  readonly worker = new EventTarget();
  readonly api: FakeApi;
  terminated = false;
  configured = 0;
  readonly #gone: { resolve: () => void };
  readonly gone: Promise<void>;
  constructor(readonly id: number) {
    let resolve!: () => void;
    this.gone = new Promise<void>((r) => (resolve = r));
    this.#gone = { resolve };
    this.api = {
      configure: () => ((this.configured++), Promise.resolve()),
      echo: (x: number) => Promise.resolve(x * 10 + this.id),
      hang: () => new Promise<number>(() => {}),
      fail: () => Promise.reject(new MeshError('gpu-validation', 'bad kernel')),
    };
  }
  /** An uncaught throw inside the worker. */
  throwUncaught(message: string): void {
    const ev = new Event('error') as Event & { message: string };
    ev.message = message;
    this.worker.dispatchEvent(ev);
  }
  /** Someone called terminate() on the real Worker: its liveness lock came free. */
  exit(): void {
    this.#gone.resolve();
  }
  terminate(): void {
    this.terminated = true;
  }
}

interface FakeApi {
  configure(): Promise<void>;
  echo(x: number): Promise<number>;
  hang(): Promise<number>;
  fail(): Promise<number>;
}

function supervised() {
  const workers: FakeWorker[] = [];
  const crashes: CrashDetail[] = [];
  const sup = new WorkerSupervisor<FakeApi>({
    name: 'gpu',
    spawn: () => {
      const w = new FakeWorker(workers.length);
      workers.push(w);
      return w;
    },
    init: (api) => api.configure(),
  });
  sup.addEventListener('crash', (e) => crashes.push((e as CustomEvent<CrashDetail>).detail));
  return { sup, workers, crashes };
}

const code = (c: string) => (e: unknown) => e instanceof MeshError && e.code === c;

describe('WorkerSupervisor', () => {
  it('starts one worker lazily, configures it once, and reuses it', async () => {
    const { sup, workers } = supervised();
    assert.equal(sup.alive, false);
    assert.equal(await sup.call((api) => api.echo(1)), 10);
    assert.equal(await sup.call((api) => api.echo(2)), 20);
    assert.equal(workers.length, 1);
    assert.equal(workers[0]!.configured, 1);
  });

  it('passes a task\'s own error on without counting it as a crash', async () => {
    const { sup, workers, crashes } = supervised();
    await assert.rejects(sup.call((api) => api.fail()), code('gpu-validation'));
    assert.equal(await sup.call((api) => api.echo(3)), 30);
    assert.equal(workers.length, 1);
    assert.deepEqual(crashes, []);
  });

  it('rejects calls in flight with worker-crashed when the worker is terminated, and respawns on the next call', async () => {
    const { sup, workers, crashes } = supervised();
    await sup.start();
    const pending = sup.call((api) => api.hang(), { what: 'a WGSL dispatch' });
    workers[0]!.exit();
    await assert.rejects(pending, code('worker-crashed'));
    assert.equal(crashes.length, 1);
    assert.equal(crashes[0]!.failure, 'worker-crashed');
    assert.equal(sup.alive, false);
    assert.equal(await sup.call((api) => api.echo(4)), 41);
    assert.equal(workers.length, 2);
    assert.equal(workers[1]!.configured, 1, 'the fresh worker is configured before its first call');
  });

  it('treats an uncaught throw in the worker as a crash: the worker is terminated and replaced', async () => {
    const { sup, workers, crashes } = supervised();
    await sup.start();
    const pending = sup.call((api) => api.hang());
    workers[0]!.throwUncaught('injected');
    await assert.rejects(pending, (e: unknown) => code('worker-crashed')(e) && /injected/.test((e as Error).message));
    assert.equal(workers[0]!.terminated, true);
    assert.equal(crashes.length, 1);
    assert.equal(await sup.call((api) => api.echo(5)), 51);
  });

  it('restarts a worker whose call outlives its deadline: that call rejects timeout, the others worker-crashed', async () => {
    const { sup, workers, crashes } = supervised();
    const late = sup.call((api) => api.hang(), { deadline: Date.now() + 30, what: 'an ONNX inference' });
    const other = sup.call((api) => api.hang());
    await assert.rejects(late, (e: unknown) => code('timeout')(e) && /an ONNX inference/.test((e as Error).message));
    await assert.rejects(other, code('worker-crashed'));
    assert.equal(workers[0]!.terminated, true);
    assert.deepEqual(crashes.map((c) => c.failure), ['timeout']);
    assert.equal(await sup.call((api) => api.echo(6)), 61);
  });

  it('refuses a call whose deadline already passed without touching the worker', async () => {
    const { sup, workers } = supervised();
    await assert.rejects(sup.call((api) => api.echo(1), { deadline: Date.now() - 1 }), code('timeout'));
    assert.equal(workers.length, 0);
  });

  it('counts a worker that never finishes its init as hung', async () => {
    const workers: FakeWorker[] = [];
    const sup = new WorkerSupervisor<FakeApi>({
      name: 'onnx',
      spawn: () => {
        const w = new FakeWorker(workers.length);
        workers.push(w);
        return w;
      },
      init: (api) => (workers.length === 1 ? api.hang().then(() => {}) : api.configure()),
      initTimeoutMs: 20,
    });
    await assert.rejects(sup.call((api) => api.echo(1)), code('worker-crashed'));
    assert.equal(await sup.call((api) => api.echo(2)), 21);
  });

  it('restart() replaces the worker without a crash event; terminate() stops for good', async () => {
    const { sup, workers, crashes } = supervised();
    await sup.start();
    const pending = sup.call((api) => api.hang());
    sup.restart('healing');
    await assert.rejects(pending, code('cancelled'));
    assert.equal(await sup.call((api) => api.echo(7)), 71);
    assert.deepEqual(crashes, []);
    sup.terminate();
    await assert.rejects(sup.call((api) => api.echo(8)), code('cancelled'));
    assert.equal(workers[1]!.terminated, true);
  });
});
