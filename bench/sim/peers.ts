/**
 * Simulated contributors: device classes from phones to desktop GPUs, with speed, bandwidth and round-trip
 * time drawn from stated distributions, a share of stragglers, and churn. All draws use a seeded generator so
 * a run is repeatable.
 *
 * | class       | share | speed, work units/s (median, lognormal sigma 0.35) | down/up MB/s | RTT ms (median) |
 * | phone       | 25%   |  2,000                                              | 4 / 1        | 80              |
 * | laptop CPU  | 35%   |  8,000                                              | 12 / 4       | 40              |
 * | desktop CPU | 25%   | 16,000                                              | 25 / 10      | 25              |
 * | desktop GPU | 15%   | 80,000                                              | 40 / 15      | 20              |
 *
 * A straggler (STRAGGLER_SHARE of peers, any class) runs every shard STRAGGLER_SLOWDOWN times slower than
 * its class would (a throttled background tab, a thermally limited phone); the coordinator only learns it
 * from measured run times. Churn: each peer leaves after an exponential time with rate `churnPerHour`, and a
 * new peer (a stranger to the market) of a freshly drawn class joins in its place.
 */
import type { Capabilities } from '../../src/protocol/capabilities.ts';

/** Share of peers that straggle. */
export const STRAGGLER_SHARE = 0.05;
/** How much slower a straggler runs. */
export const STRAGGLER_SLOWDOWN = 10;

interface DeviceClass {
  name: string;
  share: number;
  speed: number;
  downMBps: number;
  upMBps: number;
  rttMs: number;
  gpu: boolean;
}

/** The device classes. */
export const CLASSES: readonly DeviceClass[] = [
  { name: 'phone', share: 0.25, speed: 2_000, downMBps: 4, upMBps: 1, rttMs: 80, gpu: false },
  { name: 'laptop', share: 0.35, speed: 8_000, downMBps: 12, upMBps: 4, rttMs: 40, gpu: false },
  { name: 'desktop', share: 0.25, speed: 16_000, downMBps: 25, upMBps: 10, rttMs: 25, gpu: false },
  { name: 'gpu', share: 0.15, speed: 80_000, downMBps: 40, upMBps: 15, rttMs: 20, gpu: true },
];

/** One simulated contributor. */
export interface SimPeer {
  id: string;
  kind: string;
  /** Work units per second it really runs at (stragglers included). */
  speed: number;
  downBps: number;
  upBps: number;
  rttMs: number;
  straggler: boolean;
  network: string;
  /** When its compute lane is next free (virtual ms). */
  busyUntil: number;
  /** When it leaves (virtual ms). */
  leavesAt: number;
}

/** Mulberry32: a small seeded generator. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller). */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Draws a peer joining at `now`. */
export function drawPeer(n: number, now: number, rand: () => number, churnPerHour: number): SimPeer {
  let u = rand();
  const cls = CLASSES.find((c) => (u -= c.share) < 0) ?? CLASSES[CLASSES.length - 1]!;
  const straggler = rand() < STRAGGLER_SHARE;
  const spread = Math.exp(0.35 * normal(rand));
  const life = churnPerHour > 0 ? (-Math.log(1 - rand()) / churnPerHour) * 3_600_000 : Infinity;
  return {
    id: `sim${n.toString(36)}`,
    kind: cls.name,
    speed: (cls.speed * spread) / (straggler ? STRAGGLER_SLOWDOWN : 1),
    downBps: cls.downMBps * 1e6 * Math.exp(0.3 * normal(rand)),
    upBps: cls.upMBps * 1e6 * Math.exp(0.3 * normal(rand)),
    rttMs: cls.rttMs * Math.exp(0.3 * normal(rand)),
    straggler,
    network: `net${Math.floor(rand() * 1e9).toString(36)}`,
    busyUntil: now,
    leavesAt: now + life,
  };
}

/** A peer's capabilities as it registers them. */
export function capsOf(p: SimPeer): Capabilities {
  return { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: p.kind === 'gpu' ? ['wasm', 'webgpu'] : ['wasm'], gflops: { cpu: 10 } };
}
