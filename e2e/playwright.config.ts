// Playwright: real headless Chromium against a real coordinator serving the built PWA (run `npm run build` first).
// e2e/run.sh starts this inside a loopback-only network namespace, so all traffic stays on 127.0.0.1.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.MESHWORK_E2E_PORT ?? 8787);
const dataDir = `.tmp/e2e-data-${port}`;
const staticDir = process.env.MESHWORK_E2E_STATIC ?? 'dist';

export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 240_000,
  expect: {
    timeout: 30_000,
    // Screenshot tests (screenshots.spec.ts): references under e2e/__screenshots__, animations stopped, a small
    // tolerance for anti-aliasing. Update them with `bash e2e/run.sh screenshots --update-snapshots`.
    toHaveScreenshot: { animations: 'disabled', caret: 'hide', maxDiffPixelRatio: 0.01 },
  },
  snapshotPathTemplate: '{testDir}/__screenshots__/{testFilePath}/{arg}{ext}',
  reporter: [['list']],
  outputDir: '../test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
      args: [
        '--enable-unsafe-webgpu',
        '--allow-loopback-in-peer-connection',
        '--use-fake-ui-for-media-stream',
        '--disable-quic',
        '--no-pings',
        '--disable-domain-reliability',
        '--disable-breakpad',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-sandbox',
      ],
    },
  },
  // The suite's coordinator runs as a private mesh (--trust-newcomers on): each spec sees exactly the runs it
  // asks for. Specs about strangers start their own coordinator with the public defaults (spawnCoordinator).
  // The audit token lets specs check every account of the ledger (fixtures.ts E2E_AUDIT_TOKEN).
  webServer: {
    command: `rm -rf ${dataDir} && deno run --allow-all coordinator/main.ts --host 127.0.0.1 --port ${port} --data ${dataDir} --static ${staticDir} --lease-ms 60000 --trust-newcomers on --audit-token e2e-audit-token-0123456789`,
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
