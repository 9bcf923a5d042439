/**
 * The bus between coordinator instances, both engines, for `npm run bench -- bus` (bench/bus.mjs), or alone:
 * `deno run -A bench/bus.ts [--seconds S]`; prints one JSON line.
 *
 * Each engine gets a throwaway server on 127.0.0.1 (nats-server 2.9; PostgreSQL 15 with fsync off, as the
 * test helper starts it) and relay envelopes as the cluster link sends them: small = a CANDIDATE (~200 B),
 * medium = an OFFER with a 4 KB SDP. Every received message is parsed as JSON, as the link does.
 * - one-way: PUBLISHERS connections publish as fast as the bus takes them (a refused publish waits for a
 *   flush), one subscriber connection counts; msgs/s = received / (last arrival - start). Bounded by a
 *   message count and by `--seconds`.
 * - round trip: PUBLISHERS connections each send a ping, wait for the echo (another connection republishes
 *   it to the sender's reply subject), repeat; p50/p99 of the round trips over `--seconds`.
 * - store contention: serial single-row INSERT commits/s on the PostgreSQL server (the store), alone and while
 *   each engine carries a steady LOAD_PER_SEC small messages (NOTIFY commits take a global lock on the
 *   database the store writes to; NATS load only competes for the CPU).
 */
import { type Bus, openBus } from '../coordinator/bus/index.ts';
import { startNats } from '../coordinator/testing/nats.ts';
import { startPostgres } from '../coordinator/testing/postgres.ts';
import postgres from 'postgres';

const PUBLISHERS = 4;
const LOAD_PER_SEC = 5_000;
const args = Deno.args;
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 0) || Number(Deno.env.get('MESHWORK_BUS_SECONDS') ?? 4);
const SIZES = { small: { bytes: 200, messages: 200_000 }, medium: { bytes: 4096, messages: 50_000 } } as const;

/** A relay envelope of about `bytes` bytes. */
function envelope(bytes: number, type: 'CANDIDATE' | 'OFFER', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = { v: 1, k: 'relay', from: 'inst-a', hops: 1, ...extra, frame: { type, src: 'peer-alice-1234', dst: 'peer-bob-5678', payload: { pad: '' } } };
  const pad = Math.max(0, bytes - JSON.stringify(base).length);
  const payload = type === 'CANDIDATE'
    ? { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host'.padEnd(pad, ' '), sdpMid: '0', sdpMLineIndex: 0 }
    : { sdp: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n'.padEnd(pad - 20, 'a') }, type: 'data', connectionId: 'dc_x' };
  return { ...base, frame: { ...base.frame, payload } };
}

async function oneWay(url: string, bytes: number, total: number): Promise<{ perSec: number; sent: number; received: number }> {
  const sub = await openBus(url, '');
  const pubs = await Promise.all([...Array(PUBLISHERS)].map(() => openBus(url, '')));
  let received = 0;
  let last = 0;
  await sub.subscribe('bench.oneway', (m) => {
    m.json();
    received++;
    last = performance.now();
  }, { maxPending: 100_000, maxPendingBytes: 256 * 1024 * 1024 });
  const text = JSON.stringify(envelope(bytes, bytes > 1000 ? 'OFFER' : 'CANDIDATE'));
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let sent = 0;
  await Promise.all(pubs.map(async (bus) => {
    for (let i = 0; i < total / PUBLISHERS && performance.now() < deadline; i++) {
      while (!bus.publish('bench.oneway', text)) await bus.flush();
      sent++;
      if (i % 256 === 255) await new Promise((r) => setTimeout(r, 0)); // let the subscriber run on the same loop
    }
    await bus.flush();
  }));
  const drainEnd = performance.now() + 5000;
  while (received < sent && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 5));
  await Promise.all([sub, ...pubs].map((b) => b.close()));
  return { perSec: Math.round(received / ((last - start) / 1000)), sent, received };
}

async function roundTrip(url: string, bytes: number): Promise<{ p50: number; p99: number; n: number }> {
  const echo = await openBus(url, '');
  await echo.subscribe('bench.ping', (m) => {
    const e = m.json<{ r: string }>();
    echo.publish(e.r, m.text());
  });
  const pubs: Bus[] = await Promise.all([...Array(PUBLISHERS)].map(() => openBus(url, '')));
  const rtts: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(pubs.map(async (bus, i) => {
    let wake: (() => void) | undefined;
    await bus.subscribe(`bench.pong.${i}`, (m) => {
      m.json();
      wake?.();
    });
    const text = JSON.stringify(envelope(bytes, bytes > 1000 ? 'OFFER' : 'CANDIDATE', { r: `bench.pong.${i}` }));
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const back = new Promise<void>((r) => (wake = r));
      bus.publish('bench.ping', text);
      const timeout = new Promise<void>((r) => setTimeout(r, 2000));
      await Promise.race([back, timeout]);
      rtts.push(performance.now() - t0);
    }
  }));
  await Promise.all([echo, ...pubs].map((b) => b.close()));
  rtts.sort((a, b) => a - b);
  const q = (p: number) => Number(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]!.toFixed(3));
  return { p50: q(0.5), p99: q(0.99), n: rtts.length };
}

/** Serial single-row INSERT commits per second on `pgUrl` for `ms`, while `load` (if any) runs. */
async function storeCommits(pgUrl: string, ms: number, load?: () => Promise<unknown>): Promise<number> {
  const sql = postgres(pgUrl, { max: 1, onnotice: () => {}, fetch_types: false });
  await sql`create table if not exists bench_store (id bigserial primary key, v text)`;
  const running = load?.();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await sql`insert into bench_store (v) values ('settle')`;
    n++;
  }
  const perSec = Math.round(n / ((performance.now() - start) / 1000));
  await running;
  await sql.end();
  return perSec;
}

/** Publishes small messages at `perSec` for `ms` (in 10 ms ticks) to a subscriber that parses them. */
async function steadyLoad(url: string, perSec: number, ms: number): Promise<void> {
  const [pub, sub] = [await openBus(url, ''), await openBus(url, '')];
  await sub.subscribe('bench.load', (m) => void m.json());
  const text = JSON.stringify(envelope(200, 'CANDIDATE'));
  const start = performance.now();
  for (let tick = 0; performance.now() - start < ms; tick++) {
    for (let i = 0; i < perSec / 100; i++) pub.publish('bench.load', text);
    await new Promise((r) => setTimeout(r, Math.max(0, start + (tick + 1) * 10 - performance.now())));
  }
  await pub.flush();
  await Promise.all([pub.close(), sub.close()]);
}

const nats = await startNats();
const pg = await startPostgres();
const report: Record<string, unknown> = { publishers: PUBLISHERS, seconds, cores: navigator.hardwareConcurrency, loadPerSec: LOAD_PER_SEC };
try {
  await storeCommits(pg.url, 500); // warm-up
  report.storeCommitsPerSecAlone = await storeCommits(pg.url, 2000);
  for (const [engine, url] of [['nats', nats.url], ['postgres', pg.url]] as const) {
    const out: Record<string, unknown> = {};
    for (const [name, size] of Object.entries(SIZES)) {
      const ow = await oneWay(url, size.bytes, size.messages);
      const rt = await roundTrip(url, size.bytes);
      out[name] = { bytes: size.bytes, oneWayPerSec: ow.perSec, sent: ow.sent, received: ow.received, rttP50Ms: rt.p50, rttP99Ms: rt.p99, roundTrips: rt.n };
    }
    out.storeCommitsPerSecUnderLoad = await storeCommits(pg.url, 2000, () => steadyLoad(url, LOAD_PER_SEC, 2000));
    report[engine] = out;
  }
} finally {
  await nats.stop();
  await pg.stop();
}
console.log(JSON.stringify(report));
