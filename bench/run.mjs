#!/usr/bin/env node
// `npm run bench`: starts a coordinator and headless Chromium on loopback (inside a loopback-only network
// namespace when root), runs each benchmark with its baseline in the same process, prints ratios.
import { spawnSync } from 'node:child_process';
import { startCoordinator, launchBrowser, printTable } from './lib.mjs';
import { benchTransfer } from './transfer.mjs';
import { benchOverhead } from './overhead.mjs';
import { benchLedger } from './ledger.mjs';

if (process.getuid?.() === 0 && !process.env.MESHWORK_BENCH_NS) {
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.status === 0) {
    const res = spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, MESHWORK_BENCH_NS: '1' },
    });
    process.exit(res.status ?? 1);
  }
}

const only = process.argv[2];
const coordinator = await startCoordinator(Number(process.env.MESHWORK_BENCH_PORT ?? 8790));
const browser = await launchBrowser();
const rows = [];
try {
  const ctx = { browser, baseURL: coordinator.url };
  if (!only || only === 'overhead') rows.push(...(await benchOverhead(ctx)));
  if (!only || only === 'transfer') rows.push(...(await benchTransfer(ctx)));
  if (!only || only === 'ledger') rows.push(...(await benchLedger()));
} finally {
  await browser.close();
  coordinator.stop();
}
printTable(rows);
console.log(`\n${new Date().toISOString()} node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
