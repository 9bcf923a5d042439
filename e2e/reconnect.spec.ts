// Sessions that heal (issue: after a coordinator restart nothing reconnected by itself, Start had to be pressed
// again and counters reset; a reload stopped contributing; an offline start left the model list broken until a
// full reload). The PWA runs against a coordinator this spec starts, stops and starts again on the same port and
// ledger; a harness page in another browser context is the client whose shards the contributor runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, expect, type Page, test } from '@playwright/test';
import { connectPeer, type CoordinatorProcess, freePort, openPeer, runExactMatmul, spawnCoordinator } from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

let own: CoordinatorProcess | undefined;
let dataDir: string | undefined;
let port = 0;

test.beforeAll(async () => {
  port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'meshwork-healing-'));
  own = await spawnCoordinator(port, dataDir, ['--trust-newcomers', 'on']);
});

test.afterAll(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
  await own?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const stats = async (): Promise<{ contributors: number; active: number }> => {
  const res = await fetch(`${own!.url}/api/stats`);
  return (await res.json()) as { contributors: number; active: number };
};

let app: Page;
let client: Page;

/** The PWA of the test's coordinator in a fresh context, consent given and contributing at full caps. */
async function contributingApp(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  await page.goto(`${own!.url}/#contribute`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await page.getByTestId('cpu-cap').fill('100');
  await page.getByTestId('gpu-cap').fill('100');
  await page.getByTestId('consent').check();
  await page.getByTestId('start').click();
  await expect(page.getByTestId('state')).toHaveAttribute('data-state', 'active');
  return page;
}

test('a coordinator away for 20 s and back: the contributor is active again within 15 s without a click, counters kept', async ({ browser }) => {
  app = await contributingApp(browser);
  client = await openPeer(browser, `${own!.url}/e2e/pages/mesh.html`);
  await connectPeer(client, { coordinator: own!.url });
  const first = await runExactMatmul(client, 64, 64, 64, 32);
  expect(first.mismatches).toBe(0);
  await expect(app.getByTestId('shards-run')).toHaveText('4');
  // The contributor hears 'credited' on its own socket, which may land after the client's job ended.
  await expect(app.getByTestId('earned')).toHaveAttribute('data-micro', String(first.cost.spent));
  const earned = await app.getByTestId('earned').getAttribute('data-micro');

  await own!.stop();
  // The app says it is reconnecting rather than showing an error with a button to press.
  await expect(app.getByTestId('reconnecting')).toBeVisible();
  await expect(app.getByTestId('connection')).toHaveAttribute('data-state', 'reconnecting');
  // Longer than the old bounded reconnect (6 tries, 8 s apart at most) lasted.
  await app.waitForTimeout(20_000);
  own = await spawnCoordinator(port, dataDir!, ['--trust-newcomers', 'on']);
  const back = Date.now();

  // No click anywhere: the coordinator lists the contributor as active again within 15 s.
  await expect.poll(stats, { timeout: 15_000, intervals: [250] }).toMatchObject({ contributors: 1, active: 1 });
  console.log(`contributor active again ${Date.now() - back} ms after the coordinator came back`);
  await expect(app.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(app.getByTestId('state')).toHaveAttribute('data-state', 'active');
  await expect(app.getByTestId('reconnecting')).toHaveCount(0);
  await expect(app.getByTestId('connection-error')).toHaveCount(0);
  await expect(app.getByTestId('contributor-error')).toHaveCount(0);
  // Counters carry on from where they were.
  await expect(app.getByTestId('shards-run')).toHaveText('4');
  await expect(app.getByTestId('earned')).toHaveAttribute('data-micro', earned ?? '');
  const second = await runExactMatmul(client, 64, 64, 64, 32);
  expect(second.mismatches).toBe(0);
  await expect(app.getByTestId('shards-run')).toHaveText('8');
});

test('a reload contributes again under the remembered consent, without Start', async () => {
  await app.reload();
  await expect(app.getByTestId('consent')).toBeChecked();
  await expect(app.getByTestId('state')).toHaveAttribute('data-state', 'active');
  await expect.poll(stats).toMatchObject({ contributors: 1, active: 1 });
  // Stop is remembered too: after Stop, a reload stays stopped.
  await app.getByTestId('stop').click();
  await expect(app.getByTestId('state')).toHaveAttribute('data-state', 'stopped');
  await app.reload();
  await expect(app.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await app.waitForTimeout(1500);
  await expect(app.getByTestId('state')).toHaveAttribute('data-state', 'stopped');
  await expect.poll(stats).toMatchObject({ contributors: 0 });
});

test('started offline from the service worker, the app connects and loads the model list once back online', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${own!.url}/#run`);
  await expect(page.getByTestId('model')).toBeVisible();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId('catalog-error')).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'failed');

  await context.setOffline(false);
  // No reload: the app retries by itself and the list comes back.
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
  await expect(page.getByTestId('catalog-error')).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByTestId('model').locator('option')).not.toHaveCount(0);
});
