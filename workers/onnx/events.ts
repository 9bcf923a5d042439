/**
 * What the ONNX side of a compute worker tells its origin: sessions created and EPs chosen, posted on a
 * BroadcastChannel. The worker RPC returns outputs only; this lets a page (the contributor UI showing what
 * runs, tests, benchmarks) see which EP ran a model and whether a choice was measured or reused, without
 * widening the RPC. Fire-and-forget: nothing waits for a listener.
 */
import type { EpChoice } from './ep-policy.ts';

/** The channel name. */
export const ONNX_EVENTS_CHANNEL = 'meshwork-onnx';

/** One event. `at` is Date.now() when posted. */
export type OnnxEvent =
  | { type: 'session-created'; modelHash: string; ep: 'wasm' | 'webgpu'; ms: number; at: number }
  /** An 'auto' task's EP: measured now ('probe'), or reused from this worker ('memory') or IndexedDB ('store'). */
  | { type: 'ep-chosen'; source: 'probe' | 'memory' | 'store'; choice: EpChoice; at: number };

/** Events without their timestamp, as callers build them. */
type WithoutAt<E> = E extends OnnxEvent ? Omit<E, 'at'> : never;
type Draft = WithoutAt<OnnxEvent>;

let channel: BroadcastChannel | null | undefined;

/** Posts `event` to every same-origin listener of ONNX_EVENTS_CHANNEL (no-op where BroadcastChannel is missing). */
export function announce(event: Draft): void {
  channel ??= typeof BroadcastChannel === 'function' ? new BroadcastChannel(ONNX_EVENTS_CHANNEL) : null;
  try {
    channel?.postMessage({ ...event, at: Date.now() });
  } catch {
    // A closed channel or an uncloneable value must never fail the task that announced it.
  }
}
