// Screenshot tests of the PWA's main states at 1280 and 360 px wide, against references checked in under
// e2e/__screenshots__/screenshots.spec.ts/. Deterministic: fixed inputs, a fixed clock where dates show, volatile
// figures (ids, balances, timings, measured speeds) masked, animations stopped (playwright.config.ts).
// After a deliberate UI change: `npm run build:test && bash e2e/run.sh screenshots --update-snapshots`.
import { expect, type Locator, type Page, test } from '@playwright/test';
import { closeLeftoverPeers } from './fixtures.ts';
import { openApp, setNumber, startContributing } from './pwa-helpers.ts';

test.describe.configure({ mode: 'serial' });

/** 2025-06-15 12:00 UTC: the chart's "today". */
const NOW = Date.UTC(2025, 5, 15, 12);
const WIDTHS = [1280, 360] as const;
const CONTEXT = { timezoneId: 'UTC', locale: 'en-US', serviceWorkers: 'block' } as const;

let contributor: Page | undefined;

/** Figures that differ from run to run. */
function volatile(page: Page): Locator[] {
  return [
    'peer-id', 'balance', 'held', 'job-id', 'elapsed', 'shards', 'capabilities', 'earn-rate', 'shard-log', 'job-history',
    'matmul-gflops', 'cost-spent', 'cost-fees', 'cost-refunded', 'earned', 'shards-run',
  ].map((id) => page.getByTestId(id));
}

async function shoot(page: Page, name: string, extraMask: Locator[] = []): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await expect(page).toHaveScreenshot(`${name}-${width}.png`, { fullPage: true, mask: [...volatile(page), ...extraMask] });
  }
}

/** The client's usual small detector job: 2 images of 128 px, one per shard, no replicas. */
async function smallJob(page: Page): Promise<void> {
  await setNumber(page, 'images', 2);
  await page.getByTestId('image-size').selectOption('128');
  await setNumber(page, 'items-per-shard', 1);
  await setNumber(page, 'verify-fraction', 0);
}

test.beforeAll(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

test.afterAll(async () => {
  await contributor?.context().close();
});

test('client waiting for a contributor', async ({ browser }) => {
  const page = await openApp(browser, '#run', CONTEXT);
  await smallJob(page);
  await expect(page.getByTestId('estimate-no-contributors').first()).toBeVisible();
  await page.getByTestId('run').click();
  await expect(page.getByTestId('job-id')).toHaveText(/\S/);
  await shoot(page, 'client-waiting');
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('cancelled')).toContainText('refunded');
  await shoot(page, 'client-cancelled');
  await page.context().close();
});

test('contributor active, with its chart of the last 14 days', async ({ browser }) => {
  const context = await browser.newContext(CONTEXT);
  const page = await context.newPage();
  await page.clock.setFixedTime(NOW);
  await page.goto('/#contribute');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  // Fourteen days of history, written where the app keeps it (src/storage/history.ts).
  await page.evaluate(async (now) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('meshwork-history', 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('days', { keyPath: 'day' });
        req.result.createObjectStore('jobs', { keyPath: 'jobId' }).createIndex('at', 'at');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = db.transaction('days', 'readwrite');
    for (let i = 0; i < 14; i++) {
      const day = new Date(now - i * 86_400_000).toISOString().slice(0, 10);
      tx.objectStore('days').put({ day, earned: ((i * 7919) % 13) * 150_000 + 20_000, shards: ((i * 31) % 9) + 1 });
    }
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
  }, NOW);
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('earnings-chart')).toHaveAttribute('data-shards', /^[1-9]\d*$/);
  await startContributing(page);
  await shoot(page, 'contributor-active');
  // A frozen clock stalls leases: the next tests get a contributor of their own.
  await context.close();
});

test('client job done', async ({ browser }) => {
  contributor = await openApp(browser, '#contribute');
  await startContributing(contributor);
  const page = await openApp(browser, '#run', CONTEXT);
  await smallJob(page);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('state', 'done');
  await expect(page.getByTestId('cost')).toHaveAttribute('data-refunded', /^\d+$/);
  await expect(page.getByTestId('history-row')).toHaveCount(1);
  await shoot(page, 'client-done');
  await page.context().close();
});

test('client job error', async ({ browser }) => {
  const page = await openApp(browser, '#run', CONTEXT);
  await page.route('**/models/*.onnx', (route) => route.abort('failed'));
  await smallJob(page);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('error')).toBeVisible();
  await expect(page.getByTestId('progress')).toHaveAttribute('state', 'failed');
  await shoot(page, 'client-error');
  await page.context().close();
});

test('offline: the shell starts from the service worker and says the coordinator is out of reach', async ({ browser }) => {
  const context = await browser.newContext({ timezoneId: 'UTC', locale: 'en-US' });
  const page = await context.newPage();
  await page.goto('/#contribute');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'failed');
  await shoot(page, 'offline', [page.getByTestId('catalog-error')]);
  await context.close();
});
