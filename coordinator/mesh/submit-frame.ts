/**
 * A `submit` frame read without blocking the coordinator. A 10,000-shard job is ~2 MB of JSON: validating it
 * and building its canonical text (for the signature and the job id) in one go takes 50-100 ms, during which
 * nothing else is served. Here the shards are validated and written out a slice at a time, pausing between
 * slices so other sockets and timers run; the canonical text is built once and used for both the signature
 * and the job id.
 */
import { canonicalJson, type ClientFrameOf, parseSubmitHeader } from '../../src/protocol/coordinator.ts';
import { checkShard } from '../../src/core/kernels/index.ts';
import { parseShardSpec } from '../../src/protocol/kernel.ts';

/** Shards validated or written between two pauses. */
export const SLICE = 500;

/** A validated submit and the canonical text of its job. */
export interface SubmitFrame {
  frame: ClientFrameOf<'submit'>;
  canonical: string;
}

/** Lets other work run (a macrotask turn). */
export function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Validates a parsed submit frame and builds its job's canonical text, slice by slice. */
export async function readSubmit(raw: unknown, wait: () => Promise<void> = pause): Promise<SubmitFrame> {
  const header = parseSubmitHeader(raw);
  const input = header.job.shards;
  const shards = new Array(input.length);
  for (let i = 0; i < input.length; i++) {
    shards[i] = parseShardSpec(input[i], `job.shards[${i}]`);
    checkShard(header.job.kernel, shards[i]); // what the kind requires beyond the schema (core/kernels)
    if (i % SLICE === SLICE - 1) await wait();
  }
  const job = { ...header.job, shards };
  const frame = { ...header, job } as ClientFrameOf<'submit'>;
  return { frame, canonical: await canonicalSliced(job as unknown as Record<string, unknown>, wait) };
}

/** canonicalJson of an object whose long arrays are written a slice at a time (the same text). */
async function canonicalSliced(value: Record<string, unknown>, wait: () => Promise<void>): Promise<string> {
  const out: string[] = ['{'];
  let first = true;
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(key), ':');
    if (!Array.isArray(v) || v.length <= SLICE) {
      out.push(canonicalJson(v));
      continue;
    }
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      out.push(canonicalJson(v[i]));
      if (i % SLICE === SLICE - 1) await wait();
    }
    out.push(']');
  }
  out.push('}');
  return out.join('');
}
