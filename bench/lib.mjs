// Shared benchmark plumbing: coordinator process, browser launch, statistics, table output.
import { spawn } from 'node:child_process';
import { chromium } from '@playwright/test';

/**
 * Starts `deno run coordinator/main.ts` on the port with an in-memory ledger; resolves when healthy. The bench's
 * contributors are this machine's own pages, so they are trusted from the start (`--trust-newcomers on`): a
 * newcomer's shard would otherwise wait for a second contributor to replicate it, up to the replica wait (2 s),
 * which is verification policy, not mesh overhead. Jobs that ask for replication (verifyFraction) still get it.
 */
export async function startCoordinator(port) {
  const args = ['run', '--allow-all', 'coordinator/main.ts', '--host', '127.0.0.1', '--port', String(port), '--data', ':memory:', '--static', process.env.MESHWORK_BENCH_STATIC ?? 'dist', '--trust-newcomers', 'on'];
  const child = spawn('node_modules/.bin/deno', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, stop: () => child.kill('SIGTERM') };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`Cannot start the coordinator as ${url}/healthz never answered`);
}

/**
 * Runs a Deno benchmark script with WebGPU (llvmpipe here) and resolves with the JSON document on its last
 * stdout line; `env` is added to this process's environment.
 */
export function runDenoJson(script, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('node_modules/.bin/deno', ['run', '-A', '--unstable-webgpu', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`Cannot read the report of ${script} as it exited with ${code} and printed: ${last.slice(0, 300)}`));
      }
    });
  });
}

/** Headless Chromium with WebGPU (SwiftShader) and loopback WebRTC enabled. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: ['--enable-unsafe-webgpu', '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--disable-quic', '--no-pings', '--disable-domain-reliability', '--disable-breakpad', '--disable-background-networking', '--no-sandbox'],
  });
}

/** A page in its own context (own IndexedDB, own key) on the bench harness, ready. */
export async function openPage(browser, baseURL, path) {
  const context = await browser.newContext({ baseURL });
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(path);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  return page;
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Prints rows {bench, measure, value, baseline, ratio, note} as an aligned table. */
export function printTable(rows) {
  const head = ['bench', 'measure', 'value', 'baseline', 'ratio', 'note'];
  const cells = rows.map((r) => [r.bench, r.measure, fmt(r.value), fmt(r.baseline), r.ratio === undefined ? '' : r.ratio.toFixed(3), r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((x, i) => x.padEnd(widths[i])).join(' | ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) console.log(line(c));
}

function fmt(v) {
  if (v === undefined) return '';
  return typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : String(v);
}
