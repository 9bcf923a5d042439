#!/usr/bin/env node
// `npm run bench`: starts a coordinator and headless Chromium on loopback (inside a loopback-only network
// namespace when root), runs each benchmark with its baseline in the same process, prints ratios.
import { spawnSync } from 'node:child_process';
import { startCoordinator, launchBrowser, printTable } from './lib.mjs';

/**
 * Benchmarks by name, in run order; each module exports `run(ctx)` returning table rows.
 * `npm run bench -- NAME` runs one.
 */
const BENCHES = {
  overhead: () => import('./overhead.mjs').then((m) => m.benchOverhead),
  transfer: () => import('./transfer.mjs').then((m) => m.benchTransfer),
  scaling: () => import('./scaling.mjs').then((m) => m.benchScaling),
  cache: () => import('./cache.mjs').then((m) => m.benchCache),
  ledger: () => import('./ledger.mjs').then((m) => () => m.benchLedger()),
  market: () => import('./market.mjs').then((m) => () => m.benchMarket()),
  validate: () => import('./validate.mjs').then((m) => () => m.benchValidate()),
  matmul: () => import('./matmul.mjs').then((m) => m.run),
  kernels: () => import('./kernels.mjs').then((m) => m.run),
  onnx: () => import('./onnx.mjs').then((m) => m.run),
  serve: () => import('./serve.mjs').then((m) => m.run),
  pipeline: () => import('./pipeline.mjs').then((m) => m.run),
  serveprofile: () => import('./serve-profile.mjs').then((m) => m.run),
  adversary: () => import('./adversary.mjs').then((m) => () => m.benchAdversary()),
  attack: () => import('./attack.mjs').then((m) => () => m.benchAttack()),
  bus: () => import('./bus.mjs').then((m) => () => m.benchBus()),
  cluster: () => import('./cluster.mjs').then((m) => () => m.benchCluster()),
  routing: () => import('./routing.mjs').then((m) => () => m.benchRouting()),
  sim: () => import('./sim.mjs').then((m) => () => m.benchSim()),
  signalling: () => import('./signalling.mjs').then((m) => () => m.benchSignalling()),
};
/** Benchmarks that need neither the coordinator process nor a browser: run alone, they start neither. */
const STANDALONE = new Set(['ledger', 'market', 'validate', 'adversary', 'attack', 'bus', 'cluster', 'routing', 'sim', 'signalling']);

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
if (only && !(only in BENCHES)) {
  console.error(`Cannot run benchmark '${only}' as it is not one of: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const mesh = !(only && STANDALONE.has(only));
const coordinator = mesh ? await startCoordinator(Number(process.env.MESHWORK_BENCH_PORT ?? 8790)) : undefined;
const browser = mesh ? await launchBrowser() : undefined;
const rows = [];
try {
  const ctx = { browser, baseURL: coordinator?.url };
  for (const [name, load] of Object.entries(BENCHES)) {
    if (only && only !== name) continue;
    rows.push(...(await (await load())(ctx)));
  }
} finally {
  await browser?.close();
  coordinator?.stop();
}
printTable(rows);
console.log(`\n${new Date().toISOString()} node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
