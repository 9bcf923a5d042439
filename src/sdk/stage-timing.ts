/**
 * Timing a model's stages on a sample input, with any ONNX runtime: each stage loaded once, run once to warm up
 * (and to make the next stage's inputs), then `runs` rounds that time every stage in turn (interleaved, so a
 * change in the machine's load touches every stage alike); a stage's time is the median of its rounds.
 */
import type { InputTensor } from './types.ts';

/** A loaded stage model. */
export interface StageSession<T> {
  run(feeds: Record<string, T>): Promise<Record<string, T>>;
  release(): Promise<void>;
}

/** An ONNX runtime as stage timing needs it: onnxruntime-web in the page (ort-stage-runtime.ts), or another. */
export interface StageRuntime<T> {
  /** The runtime's tensor for a sample input. */
  tensor(input: InputTensor): T;
  load(model: Uint8Array): Promise<StageSession<T>>;
}

/** What a chain of stages needs to be timed: each stage's model and the names of its inputs. */
export interface TimedStage {
  model: Uint8Array;
  inputs: readonly { name: string }[];
}

/** Runs the stages as a chain on `sample` and returns each stage's median ms over `runs` rounds. */
export async function timeStages<T>(runtime: StageRuntime<T>, stages: readonly TimedStage[], sample: Record<string, InputTensor>, runs: number): Promise<number[]> {
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new RangeError(`Cannot time stages as 'runs' must be an integer in [1, 100]: current value is ${runs}`);
  const values = new Map<string, T>(Object.entries(sample).map(([name, t]) => [name, runtime.tensor(t)]));
  const sessions: StageSession<T>[] = [];
  const feeds: Record<string, T>[] = [];
  try {
    for (const [i, stage] of stages.entries()) {
      const session = await runtime.load(stage.model);
      sessions.push(session);
      const f: Record<string, T> = {};
      for (const { name } of stage.inputs) {
        const v = values.get(name);
        if (v === undefined) throw new TypeError(`Cannot time stage ${i} as its input '${name}' is neither in the sample nor made by an earlier stage`);
        f[name] = v;
      }
      feeds.push(f);
      for (const [name, t] of Object.entries(await session.run(f))) values.set(name, t);
    }
    const times = stages.map((): number[] => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, session] of sessions.entries()) {
        const t0 = performance.now();
        await session.run(feeds[i]!);
        times[i]!.push(performance.now() - t0);
      }
    }
    return times.map(median);
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
