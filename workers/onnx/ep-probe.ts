/**
 * `ep: 'auto'`: the first task of a model on this worker measures each EP on the task's own inputs and
 * keeps the faster one that agrees with wasm (rules and bounds: ep-policy.ts); later tasks reuse the choice,
 * from memory or, after a restart, from IndexedDB (ep-choice.ts). The probing task returns the outputs of
 * the chosen EP's timed run, so it costs no extra run beyond the warm-ups. Each choice is announced on the
 * ONNX events channel (events.ts) with where it came from.
 */
import type { OnnxTask } from '../../src/protocol/worker.ts';
import {
  type AdapterFacts,
  compareOutputs,
  decide,
  describeAdapter,
  type EpChoice,
  epChoiceKey,
  type EpChoiceScope,
  type OutputValues,
  PROBE_VERSION,
  type ProbePolicy,
  skipWebgpu,
  webgpuDeadlineMs,
  type WebgpuOutcome,
} from './ep-policy.ts';
import { announce } from './events.ts';
import { type RunOutput, runSession } from './run-session.ts';
import { type OnnxSessions, release, type SessionEntry } from './sessions.ts';

/** The outputs of an 'auto' task and the EP that produced them. */
export interface AutoRun {
  outputs: RunOutput[];
  ep: 'wasm' | 'webgpu';
}

/** Per worker and choice key, the tail of a chain of lookups, so concurrent tasks of one model measure once. */
const locks = new WeakMap<OnnxSessions, Map<string, Promise<void>>>();

/** Waits for earlier holders of `key` and returns the function that lets the next one in. */
async function lock(sessions: OnnxSessions, key: string): Promise<() => void> {
  const held = locks.get(sessions) ?? new Map<string, Promise<void>>();
  locks.set(sessions, held);
  const before = held.get(key) ?? Promise.resolve();
  let unlock!: () => void;
  const mine = new Promise<void>((resolve) => (unlock = resolve));
  const tail = before.then(() => mine);
  held.set(key, tail);
  await before;
  return () => {
    unlock();
    if (held.get(key) === tail) held.delete(key);
  };
}

/** Runs an 'auto' task: on the recorded choice, or probing first when there is none. */
export async function runAuto(sessions: OnnxSessions, task: OnnxTask): Promise<AutoRun> {
  const adapter = await sessions.adapter();
  const scope: EpChoiceScope = { modelHash: task.modelHash, adapter: describeAdapter(adapter), threads: sessions.config.threads };
  const key = epChoiceKey(scope);
  // Held from the lookup until a probe's choice is recorded: a task arriving meanwhile then finds it.
  const unlock = await lock(sessions, key);
  let found: Awaited<ReturnType<typeof sessions.choices.lookup>>;
  try {
    found = await sessions.choices.lookup(key);
    if (found || !task.model) unlock();
  } catch (err) {
    unlock();
    throw err;
  }
  if (found) {
    announce({ type: 'ep-chosen', source: found.source, choice: found.choice });
    const entry = await sessions.get(task.modelHash, task.model, found.choice.ep);
    return { outputs: await runSession(entry, task), ep: entry.ep };
  }
  if (!task.model) {
    // No bytes, so no second session to measure: run on whatever session this worker holds (get() says
    // not-found when it holds none) and leave the choice to the next task that brings the model.
    const entry = await sessions.get(task.modelHash, undefined, 'wasm');
    return { outputs: await runSession(entry, task), ep: entry.ep };
  }
  try {
    const { choice, run } = await probeEps(sessions, task, { ...scope, key }, adapter);
    await sessions.choices.record(choice);
    announce({ type: 'ep-chosen', source: 'probe', choice });
    console.info(`meshwork: model ${task.modelHash.slice(0, 12)} runs on ${choice.ep}: ${choice.reason}`);
    return run;
  } finally {
    unlock();
  }
}

/** Wall-clock ms since `t0`. */
const since = (t0: number) => performance.now() - t0;

/** Measures wasm, then webgpu where the policy allows, and decides. */
async function probeEps(
  sessions: OnnxSessions,
  task: OnnxTask,
  scope: EpChoiceScope & { key: string },
  adapter: AdapterFacts | undefined,
): Promise<{ choice: EpChoice; run: AutoRun }> {
  const policy = sessions.probePolicy;
  const wasm = await sessions.get(task.modelHash, task.model, 'wasm');
  await runSession(wasm, task); // warm-up: first-run allocations and kernel selection
  let wasmMs = Infinity;
  let wasmOutputs: RunOutput[] = [];
  for (let i = 0, spent = 0; i < Math.max(1, policy.wasmRuns) && (i === 0 || spent < policy.wasmBudgetMs); i++) {
    const t0 = performance.now();
    wasmOutputs = await runSession(wasm, task);
    const ms = since(t0);
    spent += ms;
    wasmMs = Math.min(wasmMs, ms);
  }
  const base = {
    ...scope,
    wasmMs,
    inputDims: task.inputs.map((t) => [...t.dims]),
    measuredAt: Date.now(),
    probeVersion: PROBE_VERSION,
  };
  const skip = skipWebgpu({ wasmMs, adapter }, policy);
  if (skip !== undefined) return { choice: { ...base, ep: 'wasm', reason: skip }, run: { outputs: wasmOutputs, ep: 'wasm' } };

  const leg = await webgpuLeg(sessions, task, wasmOutputs, wasmMs, policy);
  const { ep, reason } = decide(wasmMs, leg.outcome, policy);
  const choice: EpChoice = {
    ...base,
    ep,
    reason,
    ...('warmupMs' in leg.outcome ? { webgpuWarmupMs: leg.outcome.warmupMs } : {}),
    ...(leg.outcome.kind === 'done' ? { webgpuMs: leg.outcome.webgpuMs, maxAbsDiff: leg.outcome.comparison.maxAbsDiff } : {}),
  };
  if (ep === 'webgpu' && leg.entry && leg.outputs) {
    // The wasm session would only hold memory now: the choice sends this model to webgpu.
    const dropped = sessions.detach(task.modelHash, 'wasm');
    void dropped?.then(release, () => undefined);
    return { choice, run: { outputs: leg.outputs, ep: 'webgpu' } };
  }
  if (leg.entry) {
    sessions.detach(task.modelHash, 'webgpu');
    await release(leg.entry);
  }
  return { choice, run: { outputs: wasmOutputs, ep: 'wasm' } };
}

/** How a promise settled within a time limit. */
type Settled<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'timeout' };

async function within<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Settled<T>>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, ms))));
  try {
    return await Promise.race([
      promise.then((value): Settled<T> => ({ kind: 'value', value }), (error: unknown): Settled<T> => ({ kind: 'error', error })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The webgpu leg: session + warm-up under the cap, then a timed run under wasm's deadline, then the output
 * comparison. Returns the webgpu session (still cached) and outputs only when the leg completed; an abandoned
 * session is taken out of the cache at once and released when its run ends in the background.
 */
async function webgpuLeg(
  sessions: OnnxSessions,
  task: OnnxTask,
  wasmOutputs: RunOutput[],
  wasmMs: number,
  policy: ProbePolicy,
): Promise<{ outcome: WebgpuOutcome; entry?: SessionEntry; outputs?: RunOutput[] }> {
  const failed = (err: unknown): { outcome: WebgpuOutcome } => ({ outcome: { kind: 'failed', message: (err as Error)?.message ?? String(err) } });
  try {
    // Downloading and compiling the runtime is not the model's cost: the service worker precaches it.
    await sessions.loadRuntime('webgpu');
  } catch (err) {
    return failed(err);
  }
  const abandon = (pending: Promise<unknown>, entry?: SessionEntry) => {
    sessions.detach(task.modelHash, 'webgpu');
    void pending.then(
      (value) => release(entry ?? (value as SessionEntry)),
      () => (entry ? release(entry) : undefined),
    );
  };

  const t0 = performance.now();
  const warm = (async () => {
    const entry = await sessions.get(task.modelHash, task.model, 'webgpu');
    if (entry.ep !== 'webgpu') {
      await release(entry);
      throw new Error('no webgpu session could be created (the worker fell back to wasm)');
    }
    try {
      await runSession(entry, task);
    } catch (err) {
      await release(entry);
      throw err;
    }
    return entry;
  })();
  const warmed = await within(warm, policy.webgpuWarmupCapMs);
  if (warmed.kind === 'timeout') {
    abandon(warm);
    return { outcome: { kind: 'warmup-timeout', capMs: policy.webgpuWarmupCapMs } };
  }
  if (warmed.kind === 'error') {
    sessions.detach(task.modelHash, 'webgpu');
    return failed(warmed.error);
  }
  const entry = warmed.value;
  const warmupMs = since(t0);

  const deadlineMs = webgpuDeadlineMs(wasmMs, policy);
  const t1 = performance.now();
  const timed = runSession(entry, task);
  const ran = await within(timed, deadlineMs);
  if (ran.kind === 'timeout') {
    abandon(timed, entry);
    return { outcome: { kind: 'slower', warmupMs, deadlineMs } };
  }
  if (ran.kind === 'error') {
    abandon(timed, entry);
    return failed(ran.error);
  }
  const webgpuMs = since(t1);
  const comparison = compareOutputs(values(wasmOutputs), values(ran.value));
  return { outcome: { kind: 'done', warmupMs, webgpuMs, comparison }, entry, outputs: ran.value };
}

function values(outputs: RunOutput[]): OutputValues[] {
  return outputs.map((o) => o.data as unknown as OutputValues);
}
