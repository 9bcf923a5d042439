// `npm run bench -- signalling`: our coordinator's PeerJS signalling against the reference `peer` server
// (npm `peer`, under node), one after the other in the same run, each in its own process on 127.0.0.1, the
// same load for both:
// - memory per idle connection: the server's VmRSS with CONNS open WebSockets (PeerJS sessions, each sending a
//   HEARTBEAT every 10 s) minus its VmRSS before they opened, over CONNS;
// - relayed msgs/s and round-trip p50/p99: ACTIVE pairs of those connections in a closed loop of CANDIDATE
//   frames (~390 B, one in flight per pair), for SECONDS after a warm-up;
// - RSS after close: all connections closed, VmRSS polled each second until it is within 10% of the RSS before
//   they opened, at most SETTLE seconds.
// The load comes from WORKERS node processes (bench/signalling/load-worker.mjs), each holding a share of the
// connections; the server's and the workers' CPU over the measured window show which side was the limit.
// Knobs: MESHWORK_SIGNAL_CONNS (10000), _ACTIVE (1000 pairs), _SECONDS (15), _WARMUP (3), _WORKERS (3),
// _SETTLE (25), _SERVERS (peer,meshwork). For diagnosis: _DENO_FLAGS (extra `deno run` flags for our server, e.g.
// `--v8-flags=--max-semi-space-size=8` or `--inspect=127.0.0.1:9229`; its stdout is shown then), _DENO_MAIN (another
// entry file in place of coordinator/main.ts, e.g. a minimal relay) and _TRACE=FILE (each load process writes its
// round trips slower than _TRACE_MS, default 200, to FILE.PID.json, with when each leg was sent).
import { spawn, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (name, fallback) => Number(process.env[`MESHWORK_SIGNAL_${name}`] ?? fallback);
const here = new URL('.', import.meta.url).pathname;
const HIST_BUCKET_MS = 0.05;

function vmRssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU seconds (user + system) of a process and its threads so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function freePort() {
  const net = await import('node:net');
  return await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts one server; resolves { pid, port, stop }. */
async function startServer(kind) {
  const port = await freePort();
  const child = kind === 'peer'
    ? spawn(process.execPath, [`${here}signalling/peer-server.mjs`, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn('node_modules/deno/deno', ['run', '--allow-all', ...(process.env.MESHWORK_SIGNAL_DENO_FLAGS ?? '').split(' ').filter(Boolean), process.env.MESHWORK_SIGNAL_DENO_MAIN ?? 'coordinator/main.ts', '--host', '127.0.0.1', '--port', String(port), '--data', ':memory:',
      '--static', 'dist', '--transport', 'node', '--max-conns', '15000', '--max-conns-per-ip', '15000', '--log-level', 'warn'], { stdio: ['ignore', process.env.MESHWORK_SIGNAL_DENO_FLAGS ? 'inherit' : 'ignore', 'inherit'] });
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  };
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/peerjs`, { headers: { connection: 'close' } })).ok) return { pid: child.pid, port, stop };
    } catch { /* not up yet */ }
    await sleep(100);
  }
  await stop();
  throw new Error(`Cannot start the ${kind} signalling server as http://127.0.0.1:${port}/peerjs never answered`);
}

function startWorkers(n) {
  return Array.from({ length: n }, () => {
    const child = fork(`${here}signalling/load-worker.mjs`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const waiting = new Map();
    let seq = 0;
    child.on('message', (m) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    });
    const call = (cmd, args) => new Promise((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      child.send({ id, cmd, args });
    });
    return { pid: child.pid, call, stop: () => child.kill('SIGTERM') };
  });
}

function quantile(hist, q) {
  const total = hist.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= q * total) return (i + 0.5) * HIST_BUCKET_MS;
  }
  return NaN;
}

/** One server through the whole sequence. */
async function measure(kind, o) {
  const server = await startServer(kind);
  const workers = startWorkers(o.workers);
  try {
    await sleep(1500);
    const rssBefore = vmRssBytes(server.pid);
    const share = Math.ceil(o.conns / o.workers / 2) * 2;
    const t0 = performance.now();
    const opened = await Promise.all(workers.map((w, i) => w.call('open', { port: server.port, path: '/peerjs/peerjs', prefix: `w${i}`, count: share, concurrency: 32 })));
    const openSeconds = (performance.now() - t0) / 1000;
    const conns = opened.reduce((a, r) => a + r.opened, 0);
    const failed = opened.reduce((a, r) => a + r.failed, 0);
    if (failed > 0) throw new Error(`Cannot open ${failed} of ${share * o.workers} connections to ${kind}: ${opened.find((r) => r.firstError)?.firstError}`);
    await sleep(3000);
    const rssLoaded = vmRssBytes(server.pid);

    const serverCpu0 = cpuSeconds(server.pid);
    const wall0 = performance.now();
    const runs = await Promise.all(workers.map((w) => w.call('run', { warmupMs: o.warmup * 1000, ms: o.seconds * 1000, activePairs: Math.ceil(o.active / o.workers), window: 1 })));
    // Server CPU over warm-up + window + drain; the workers report theirs over the window alone.
    const serverCores = (cpuSeconds(server.pid) - serverCpu0) / ((performance.now() - wall0) / 1000);
    const seconds = Math.max(...runs.map((r) => r.seconds));
    const received = runs.reduce((a, r) => a + r.received, 0);
    const hist = runs[0].hist.map((_, i) => runs.reduce((a, r) => a + r.hist[i], 0));
    const rssRun = vmRssBytes(server.pid);

    await Promise.all(workers.map((w) => w.call('close')));
    const t1 = performance.now();
    let rssAfter = vmRssBytes(server.pid);
    while (rssAfter > rssBefore * 1.1 && (performance.now() - t1) / 1000 < o.settle) {
      await sleep(1000);
      rssAfter = vmRssBytes(server.pid);
    }
    return {
      kind,
      conns,
      openSeconds,
      rssBeforeMB: rssBefore / 2 ** 20,
      rssLoadedMB: rssLoaded / 2 ** 20,
      perConnKB: (rssLoaded - rssBefore) / conns / 1024,
      rssRunMB: rssRun / 2 ** 20,
      rssAfterMB: rssAfter / 2 ** 20,
      afterSeconds: (performance.now() - t1) / 1000,
      pairs: runs.reduce((a, r) => a + r.pairs, 0),
      msgsPerSec: received / seconds,
      refused: runs.reduce((a, r) => a + r.refused, 0),
      rttP50: quantile(hist, 0.5),
      rttP99: quantile(hist, 0.99),
      serverCores,
      loadCores: runs.reduce((a, r) => a + r.cpuSeconds, 0) / seconds,
    };
  } finally {
    for (const w of workers) w.stop();
    await server.stop();
  }
}

/** Measures both servers; resolves { peer, meshwork, options }. */
export async function measureSignalling() {
  const o = { conns: env('CONNS', 10_000), active: env('ACTIVE', 1000), seconds: env('SECONDS', 15), warmup: env('WARMUP', 3), workers: env('WORKERS', 3), settle: env('SETTLE', 25) };
  const kinds = (process.env.MESHWORK_SIGNAL_SERVERS ?? 'peer,meshwork').split(',');
  const out = { options: o };
  for (const k of kinds) {
    out[k] = await measure(k, o);
    console.error(`signalling ${k}: ${JSON.stringify(out[k])}`);
  }
  return out;
}

const r2 = (x) => Math.round(x * 100) / 100;

/** Rows for `npm run bench -- signalling`. */
export async function benchSignalling() {
  const r = await measureSignalling();
  const ours = r.meshwork;
  const ref = r.peer;
  if (!ours || !ref) return [];
  const cores = (s) => `server ${r2(s.serverCores)} cores, load ${r2(s.loadCores)} cores (${r.options.workers} processes)`;
  const met = (ok) => (ok ? 'met' : 'MISSED');
  return [
    { bench: 'signalling', measure: `relayed msgs/s, ${ours.pairs} pairs closed loop`, value: Math.round(ours.msgsPerSec), baseline: Math.round(ref.msgsPerSec), ratio: r2(ours.msgsPerSec / ref.msgsPerSec), note: `goal >= 1.3 ${met(ours.msgsPerSec >= 1.3 * ref.msgsPerSec)}; ours: ${cores(ours)}; peer: ${cores(ref)}; refused ${ours.refused} / ${ref.refused}` },
    { bench: 'signalling', measure: 'round trip p50 ms', value: r2(ours.rttP50), baseline: r2(ref.rttP50), ratio: r2(ours.rttP50 / ref.rttP50), note: 'two relays, closed loop' },
    { bench: 'signalling', measure: 'round trip p99 ms', value: r2(ours.rttP99), baseline: r2(ref.rttP99), ratio: r2(ours.rttP99 / ref.rttP99), note: `goal <= 1 ${met(ours.rttP99 <= ref.rttP99)}` },
    { bench: 'signalling', measure: `KiB RSS per idle connection, ${ours.conns} open`, value: r2(ours.perConnKB), baseline: r2(ref.perConnKB), ratio: r2(ours.perConnKB / ref.perConnKB), note: `goal <= 1 ${met(ours.perConnKB <= ref.perConnKB)}; RSS before / loaded: ours ${r2(ours.rssBeforeMB)} / ${r2(ours.rssLoadedMB)} MiB, peer ${r2(ref.rssBeforeMB)} / ${r2(ref.rssLoadedMB)} MiB` },
    { bench: 'signalling', measure: 'RSS after close / before', value: r2(ours.rssAfterMB / ours.rssBeforeMB), baseline: r2(ref.rssAfterMB / ref.rssBeforeMB), note: `goal <= 1.1 ${met(ours.rssAfterMB <= 1.1 * ours.rssBeforeMB)}; ours ${r2(ours.rssAfterMB)} MiB after ${r2(ours.afterSeconds)} s (peak ${r2(ours.rssRunMB)}), peer ${r2(ref.rssAfterMB)} MiB after ${r2(ref.afterSeconds)} s (peak ${r2(ref.rssRunMB)})` },
  ];
}
