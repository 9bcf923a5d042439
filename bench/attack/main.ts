/**
 * `/healthz` under attack: starts a coordinator process, probes `/healthz` every 10 ms over one kept-alive
 * connection (as a monitor would, from its own connection), and runs each attack of attacker.ts in its own
 * process: flood (pre-auth frames, slowloris, idle connections), matcher (fake capacity, huge jobs, state
 * floods) and slow-reader (a signalling peer that never reads). Reports p50/p99 of /healthz before and
 * during each attack, the coordinator's RSS before, at its peak and after the attackers left, and whether
 * the process survived. Prints one JSON document on its last line.
 *
 * The coordinator runs with a per-address cap above the global one: on one machine every attacker shares
 * 127.0.0.1, while real attackers come from many addresses, so the global cap is what must hold.
 */
const ATTACK_S = Number(Deno.env.get('MESHWORK_ATTACK_SECONDS') ?? 8);
const port = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;

const coordinator = new Deno.Command('node_modules/.bin/deno', {
  args: ['run', '-A', 'coordinator/main.ts', '--port', String(port), '--data', ':memory:', '--static', 'dist', '--log-level', 'error', '--max-conns-per-ip', '100000'],
  stdout: 'null',
  stderr: 'inherit',
}).spawn();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

/** The coordinator's memory gauges from /metrics, in MiB. */
async function memory(): Promise<{ heap: number; external: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^meshwork_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { heap: gauge('heap_used_bytes'), external: gauge('external_bytes') };
}

function alive(): boolean {
  try {
    Deno.readTextFileSync(`/proc/${coordinator.pid}/status`);
    return true;
  } catch {
    return false;
  }
}

/** Probes /healthz for `ms`; returns latencies (ms; a failed probe counts as the time until it failed) and peak RSS. */
async function probe(ms: number): Promise<{ p50: number; p99: number; max: number; n: number; failed: number; peakRss: number }> {
  const lat: number[] = [];
  let failed = 0;
  let peakRss = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t = performance.now();
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      if (!res.ok) failed++;
    } catch {
      failed++;
    }
    lat.push(performance.now() - t);
    peakRss = Math.max(peakRss, rssMiB(coordinator.pid));
    await sleep(10);
  }
  lat.sort((a, b) => a - b);
  const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: lat.at(-1)!, n: lat.length, failed, peakRss };
}

async function attack(kind: string): Promise<Record<string, unknown>> {
  const before = await probe(3000);
  const rssBefore = rssMiB(coordinator.pid);
  const memBefore = await memory();
  const child = new Deno.Command('node_modules/.bin/deno', {
    args: ['run', '-A', 'bench/attack/attacker.ts', kind, base, String(ATTACK_S)],
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn();
  await sleep(500);
  const during = await probe(ATTACK_S * 1000 - 500);
  try {
    child.kill('SIGTERM');
  } catch { /* already done */ }
  const out = new TextDecoder().decode((await child.output()).stdout).trim().split('\n').at(-1) ?? '{}';
  // Let the coordinator notice the closed sockets and finish cancelled jobs.
  const settle = await probe(5000);
  return {
    kind,
    healthz: { before: { p50: before.p50, p99: before.p99 }, during: { p50: during.p50, p99: during.p99, max: during.max, failed: during.failed, n: during.n } },
    rssMiB: { before: rssBefore, peak: Math.max(during.peakRss, settle.peakRss), after: rssMiB(coordinator.pid) },
    heapMiB: { before: memBefore, after: await memory() },
    alive: alive(),
    attacker: JSON.parse(out),
  };
}

try {
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/healthz`).then((r) => (r.body?.cancel(), r.ok), () => false)) break;
    await sleep(100);
  }
  await probe(1000); // warm up
  const start = rssMiB(coordinator.pid);
  const memStart = await memory();
  const results = [];
  for (const kind of ['flood', 'matcher', 'slow-reader']) results.push(await attack(kind));
  await sleep(3000);
  const end = rssMiB(coordinator.pid);
  const memEnd = await memory();
  console.log(JSON.stringify({ attackSeconds: ATTACK_S, rssMiB: { start, end, ratio: end / start }, heapMiB: { start: memStart, end: memEnd }, alive: alive(), results }));
} finally {
  try {
    coordinator.kill('SIGTERM');
  } catch { /* gone */ }
  await coordinator.status;
}
