/**
 * Phase 2: PeerJS signalling relayed between two instances (value) against relay within one (baseline), on a
 * cluster of two instance processes. PAIRS pairs of keyed peers (signal-peer.ts); in `same` mode both peers of
 * a pair are on one instance (pairs alternate between the two, so both carry load), in `cross` mode they are on
 * different instances, so each frame goes client -> instance -> NATS -> other instance -> client.
 * - one-way: every pair's sender sends CANDIDATE frames (~250 bytes on the wire) keeping at most WINDOW
 *   unreceived, for `ms`; msgs/s = frames received / (last arrival - start). A sender that sees no progress
 *   for a second stops (its frames count as lost).
 * - round trip: RTT_PAIRS pairs at once, each sender sends one frame, its receiver echoes it back, repeat for
 *   `ms`; p50/p99.
 * The servers' per-sender limits stay on: 1 MiB/s of frames per sender (signalling/send-limits.ts), about
 * 4,000 CANDIDATEs/s sustained after a 4 MiB burst, so PAIRS senders cap the one-way rate at PAIRS x that;
 * refusals are counted and reported.
 */
import { cpuBetween, type CpuGroups, type CpuUse, readCpu } from './cpu.ts';
import { freshDatabase, type Instance, startInstances } from './instances.ts';
import { candidate, openSignalPeer, type SignalPeer } from './signal-peer.ts';
import { quantile, round, sleep } from './stats.ts';
import type { ThroughputPlace } from './throughput.ts';

/** Unreceived frames a sender may have out. */
const WINDOW = 256;
/** Pairs that time round trips at once: latency with a little concurrency, not under the one-way flood. */
const RTT_PAIRS = 4;

/** One mode's figures. */
export interface RelayFigures {
  oneWayPerSec: number;
  sent: number;
  received: number;
  lost: number;
  rttP50Ms: number;
  rttP99Ms: number;
  roundTrips: number;
  timeouts: number;
  /** Frames the first instance handed to the bus during the mode (0 when nothing crossed). */
  forwarded: number;
  cpu: CpuUse;
}

/** What the phase measured. */
export interface SignallingResult {
  pairs: number;
  rttPairs: number;
  ms: number;
  frameBytes: number;
  same: RelayFigures;
  cross: RelayFigures;
  /** ERROR frames the peers received, by code (rate-limited = a server limit cut the load). */
  refusals: Record<string, number>;
}

interface Pair {
  a: SignalPeer;
  b: SignalPeer;
}

/** Runs the phase on two fresh instances. */
export async function measureSignalling(place: ThroughputPlace, o: { pairs: number; ms: number }): Promise<SignallingResult> {
  const store = await freshDatabase(place.pgServer, 'signal');
  const instances = await startInstances({ store, bus: place.bus, dir: place.dir }, 2, 's');
  const groups: CpuGroups = { generator: () => ['self'], coordinators: () => instances.map((i) => i.pid), ...place.servers };
  const refusals: Record<string, number> = {};
  try {
    const out: Partial<Record<'same' | 'cross', RelayFigures>> = {};
    for (const mode of ['same', 'cross'] as const) {
      const pairs = await openPairs(instances, o.pairs, mode);
      const forwardedBefore = await forwarded(instances[0]!);
      const before = readCpu(groups);
      const ow = await oneWay(pairs, o.ms);
      const cpu = cpuBetween(before, readCpu(groups));
      const rt = await roundTrips(pairs.slice(0, RTT_PAIRS), o.ms);
      out[mode] = { ...ow, ...rt, forwarded: (await forwarded(instances[0]!)) - forwardedBefore, cpu };
      for (const p of pairs) {
        for (const [code, n] of Object.entries({ ...p.a.errors })) refusals[code] = (refusals[code] ?? 0) + n;
        for (const [code, n] of Object.entries({ ...p.b.errors })) refusals[code] = (refusals[code] ?? 0) + n;
      }
      await Promise.all(pairs.flatMap((p) => [p.a.close(), p.b.close()]));
    }
    return { pairs: o.pairs, rttPairs: Math.min(RTT_PAIRS, o.pairs), ms: o.ms, frameBytes: JSON.stringify({ type: 'CANDIDATE', dst: 'mw' + '0'.repeat(40), payload: candidate(0) }).length, same: out.same!, cross: out.cross!, refusals };
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
  }
}

/** Opens the pairs and sends a few frames each way, so routes are known before anything is timed. */
async function openPairs(instances: Instance[], n: number, mode: 'same' | 'cross'): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let k = 0; k < n; k++) {
    const a = await openSignalPeer(instances[k % 2]!.url);
    const b = await openSignalPeer(instances[(mode === 'same' ? k : k + 1) % 2]!.url);
    pairs.push({ a, b });
  }
  await Promise.all(pairs.map(async ({ a, b }) => {
    let got = 0;
    const arrived = new Promise<void>((resolve) => {
      b.onFrame = (f) => f.type === 'CANDIDATE' && ++got === 10 && resolve();
    });
    for (let i = 0; i < 10; i++) a.send('CANDIDATE', b.id, candidate(i));
    await Promise.race([arrived, sleep(5_000).then(() => Promise.reject(new Error(`Cannot warm up a ${mode} pair as ${got} of 10 frames arrived in 5 s`)))]);
  }));
  return pairs;
}

async function oneWay(pairs: Pair[], ms: number): Promise<{ oneWayPerSec: number; sent: number; received: number; lost: number }> {
  let last = 0;
  const start = performance.now();
  const end = start + ms;
  const counts = await Promise.all(pairs.map(async ({ a, b }) => {
    const text = JSON.stringify({ type: 'CANDIDATE', dst: b.id, payload: candidate(0) });
    let sent = 0;
    let received = 0;
    let wake = () => {};
    b.onFrame = (f) => {
      if (f.type !== 'CANDIDATE') return;
      received++;
      last = performance.now();
      if (received >= sent - WINDOW / 2) wake();
    };
    while (performance.now() < end) {
      while (sent - received < WINDOW) {
        a.socket.send(text);
        sent++;
      }
      const before = received;
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 1000);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (received === before) break; // no progress in a second: the rest is lost
    }
    const drain = performance.now() + 2000;
    while (received < sent && performance.now() < drain) await sleep(10);
    return { sent, received };
  }));
  const sent = counts.reduce((s, c) => s + c.sent, 0);
  const received = counts.reduce((s, c) => s + c.received, 0);
  return { oneWayPerSec: Math.round(received / ((last - start) / 1000)), sent, received, lost: sent - received };
}

async function roundTrips(pairs: Pair[], ms: number): Promise<{ rttP50Ms: number; rttP99Ms: number; roundTrips: number; timeouts: number }> {
  const rtts: number[] = [];
  let timeouts = 0;
  const end = performance.now() + ms;
  await Promise.all(pairs.map(async ({ a, b }) => {
    b.onFrame = (f) => f.type === 'CANDIDATE' && f.src !== undefined && b.send('CANDIDATE', f.src, f.payload);
    let expect = -1;
    let back = () => {};
    a.onFrame = (f) => f.type === 'CANDIDATE' && (f.payload as { n?: number } | undefined)?.n === expect && back();
    for (let n = 1; performance.now() < end; n++) {
      expect = n;
      const t0 = performance.now();
      const ok = await new Promise<boolean>((r) => {
        const timer = setTimeout(() => r(false), 2000);
        back = () => {
          clearTimeout(timer);
          r(true);
        };
        a.send('CANDIDATE', b.id, candidate(n));
      });
      if (!ok) timeouts++;
      rtts.push(performance.now() - t0);
    }
  }));
  return { rttP50Ms: round(quantile(rtts, 0.5), 3), rttP99Ms: round(quantile(rtts, 0.99), 3), roundTrips: rtts.length, timeouts };
}

/** Frames an instance has handed to the bus for peers held elsewhere (its /metrics). */
async function forwarded(i: Instance): Promise<number> {
  const text = await (await fetch(`${i.url}/metrics`)).text();
  return Number(/meshwork_cluster_frames_total\{kind="forwarded"\} (\d+)/.exec(text)?.[1] ?? 0);
}
