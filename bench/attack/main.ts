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
 *
 * Memory is compared with the process after a warm-up (honest contributors and jobs through the real mesh
 * API, then two seconds of each attack), not with a process that has served nothing: compiled code and
 * allocator pools grow once the first time a code path runs, as they would in any coordinator that has been
 * online for a while. After the attackers leave, the bench waits up to SETTLE_MS for V8's memory reducer and the
 * coordinator's allocator trim to give memory back.
 */
const ATTACK_S = Number(Deno.env.get('MESHWORK_ATTACK_SECONDS') ?? 8);
/** Longest wait for memory to come back after the last attack. */
const SETTLE_MS = 45_000;
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

/** Honest work first: contributors, clients and jobs through the mesh API, settled by receipts. */
async function warmUp(): Promise<void> {
  const { contributor, runAndPay } = await import('../../coordinator/testing/peers.ts');
  const { MeshTestClient } = await import('../../coordinator/testing/mesh-client.ts');
  const { onnxJob } = await import('../../coordinator/testing/fixtures.ts');
  const workers = await Promise.all(Array.from({ length: 4 }, () => contributor(base, { maxConcurrent: 2 })));
  const client = await MeshTestClient.connect(base);
  for (let j = 0; j < 5; j++) {
    await client.submit(onnxJob({ shards: 20 }));
    let left = 20 * 2; // newcomers' results are replicated
    while (left > 0) {
      const ready = workers.flatMap((w) => w.inbox.frames.filter((f) => f.type === 'assign').map((f) => ({ w, f })));
      if (ready.length === 0) {
        await sleep(5);
        if (!(await client.inbox.frames.some((f) => f.type === 'job' && f.status.state !== 'running'))) continue;
        break;
      }
      for (const { w, f } of ready) {
        w.inbox.frames.splice(w.inbox.frames.indexOf(f), 1);
        if (f.type === 'assign') await runAndPay(w, client, f.lease, 2000).catch(() => {});
        left--;
      }
    }
    await client.inbox.next((f) => f.type === 'job' && f.status.state !== 'running', 'job end', 30_000).catch(() => {});
  }
  await Promise.all([...workers, client].map((p) => p.close()));
}

/** Waits until RSS is at most `target` MiB (or `ms` passed), probing lightly; returns the time waited. */
async function quiet(ms: number, target = 0): Promise<number> {
  const t = Date.now();
  while (Date.now() - t < ms) {
    if (target > 0 && rssMiB(coordinator.pid) <= target) break;
    await fetch(`${base}/healthz`).then((r) => r.body?.cancel(), () => {});
    await sleep(1000);
  }
  return Date.now() - t;
}

try {
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/healthz`).then((r) => (r.body?.cancel(), r.ok), () => false)) break;
    await sleep(100);
  }
  await probe(1000);
  await warmUp();
  for (const kind of ['flood', 'matcher', 'slow-reader']) {
    await new Deno.Command('node_modules/.bin/deno', { args: ['run', '-A', 'bench/attack/attacker.ts', kind, base, '2'], stdout: 'null', stderr: 'inherit' }).output();
  }
  await quiet(SETTLE_MS);
  const start = rssMiB(coordinator.pid);
  const memStart = await memory();
  const results = [];
  for (const kind of ['flood', 'matcher', 'slow-reader']) results.push(await attack(kind));
  const settledAfterMs = await quiet(SETTLE_MS, start * 1.1);
  const end = rssMiB(coordinator.pid);
  const memEnd = await memory();
  console.log(JSON.stringify({ attackSeconds: ATTACK_S, rssMiB: { start, end, ratio: end / start, settledAfterMs }, heapMiB: { start: memStart, end: memEnd }, alive: alive(), results }));
} finally {
  try {
    coordinator.kill('SIGTERM');
  } catch { /* gone */ }
  await coordinator.status;
}
