// The PWA's forms and feedback (issue 11, item 7): inline validation instead of clamping, a confirmation before
// large jobs, a neutral "Cancelled" with the refund, escrow shown as held, tabs by keyboard, live regions,
// layouts from 320 px, and a small first-visit download.
import { expect, test } from '@playwright/test';
import { closeLeftoverPeers } from './fixtures.ts';
import { microOf, openApp, setNumber } from './pwa-helpers.ts';

test.describe.configure({ mode: 'serial' });

// No contributor may be online: the cancelled job below must still be waiting when it is cancelled.
test.beforeAll(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

test('out-of-range fields show an error naming the field and its range, keep what was typed, and disable Run', async ({ browser }) => {
  const page = await openApp(browser, '#run');
  const run = page.getByTestId('run');
  await expect(run).toBeEnabled();
  for (const [id, value, message] of [
    ['images', '0', 'Images must be a whole number from 1 to 256: 0 is too small'],
    ['images', '100000', 'Images must be a whole number from 1 to 256: 100000 is too large'],
    ['seed', '-3', 'Seed must be a whole number from 0 to 2,147,483,648: -3 is too small'],
    ['verify-fraction', '1.5', 'Verify fraction must be a number from 0 to 1: 1.5 is too large'],
    ['bid', '0', 'Bid must be a whole number from 1 to 1,000,000: 0 is too small'],
  ] as const) {
    await setNumber(page, id, value);
    await expect(page.getByTestId(`${id}-error`)).toHaveText(message);
    await expect(page.getByTestId(id)).toHaveValue(value); // never clamped
    await expect(page.getByTestId(id)).toHaveAttribute('aria-invalid', 'true');
    await expect(run).toBeDisabled();
    await expect(page.getByTestId('estimate-none')).toBeVisible();
    await setNumber(page, id, id === 'verify-fraction' ? '0.1' : id === 'images' ? '8' : id === 'bid' ? '2' : '1');
    await expect(page.getByTestId(`${id}-error`)).toHaveText('');
    await expect(run).toBeEnabled();
  }
  // The matmul panel and the contributor's ask follow the same rule.
  await setNumber(page, 'matmul-bid', '-3');
  await expect(page.getByTestId('matmul-bid-error')).toContainText('Bid must be a whole number from 1 to 1,000,000');
  await expect(page.getByTestId('matmul-run')).toBeDisabled();
  await page.getByTestId('tab-contribute').click();
  await page.getByTestId('consent').check();
  await setNumber(page, 'ask-price', '-3');
  await expect(page.getByTestId('ask-price-error')).toHaveText('Ask price must be a whole number from 0 to 1,000,000: -3 is too small');
  await expect(page.getByTestId('start')).toBeDisabled();
  await setNumber(page, 'ask-price', '1');
  await expect(page.getByTestId('start')).toBeEnabled();
  await page.context().close();
});

test('a job of 1,024 shards or more asks first; going back submits nothing', async ({ browser }) => {
  const page = await openApp(browser, '#run');
  await page.getByTestId('matmul-size').selectOption('2048');
  await page.getByTestId('matmul-tile').selectOption('64');
  await expect(page.getByTestId('estimate').nth(1)).toHaveAttribute('data-shards', '1024');
  await page.getByTestId('matmul-run').click();
  const dialog = page.getByTestId('confirm').nth(1);
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('Run 1,024 shards?');
  await expect(dialog).toContainText('escrow');
  await expect(page.getByTestId('confirm-no').nth(1)).toBeFocused(); // Enter does not start it by accident
  await page.getByTestId('confirm-no').nth(1).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('matmul-progress')).toHaveCount(0);
  await expect(page.getByTestId('matmul-cancel')).toBeDisabled();
  // A smaller job runs without asking (it waits: nobody contributes here), and is cancelled again.
  await page.getByTestId('matmul-size').selectOption('128');
  await page.getByTestId('matmul-run').click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('matmul-cancel')).toBeEnabled();
  await page.getByTestId('matmul-cancel').click();
  await expect(page.getByTestId('matmul-cancelled')).toContainText('refunded');
  await page.context().close();
});

test('a cancelled job is a neutral "Cancelled" with its refund; its escrow shows as held meanwhile', async ({ browser }) => {
  const page = await openApp(browser, '#run');
  const before = await microOf(page, 'balance');
  await setNumber(page, 'images', 2);
  await page.getByTestId('image-size').selectOption('128');
  await setNumber(page, 'items-per-shard', 1);
  await expect(page.getByTestId('estimate-no-contributors').first()).toBeVisible();
  const escrow = Number(await page.getByTestId('estimate').first().getAttribute('data-escrow'));
  expect(escrow).toBe(3 * 2 * (2 * 1000 + 100)); // three runs of 2 shards at bid 2, fee 5%
  await page.getByTestId('run').click();
  await expect(page.getByTestId('job-id')).toHaveText(/\S/);
  // While it waits, the header says what is held, and the balance no longer includes it.
  await expect(page.getByTestId('held')).toHaveAttribute('data-micro', String(escrow));
  await expect(page.getByTestId('balance')).toHaveAttribute('data-micro', String(before - escrow));
  await page.getByTestId('cancel').click();
  const notice = page.getByTestId('cancelled');
  await expect(notice).toContainText(`Cancelled. ${(escrow / 1e6).toLocaleString('en-US', { maximumFractionDigits: 6 })} credits refunded`);
  await expect(notice).toHaveAttribute('role', 'status');
  await expect(page.getByTestId('error')).toHaveCount(0); // no red failure
  await expect(page.getByTestId('progress')).toHaveAttribute('state', 'cancelled');
  await expect(page.getByTestId('held')).toHaveCount(0);
  await expect(page.getByTestId('balance')).toHaveAttribute('data-micro', String(before));
  // The job history keeps it, as cancelled.
  const row = page.getByTestId('history-row').first();
  await expect(row).toHaveAttribute('data-outcome', 'cancelled');
  await page.reload();
  await expect(page.getByTestId('history-row').first()).toHaveAttribute('data-outcome', 'cancelled');
  await page.context().close();
});

test('tabs follow the ARIA tabs pattern: roles, aria-selected, Left/Right/Home/End with focus', async ({ browser }) => {
  const page = await openApp(browser, '#contribute');
  const contribute = page.getByTestId('tab-contribute');
  const run = page.getByTestId('tab-run');
  await expect(page.getByRole('tablist')).toHaveCount(1);
  await expect(contribute).toHaveAttribute('aria-selected', 'true');
  await expect(run).toHaveAttribute('tabindex', '-1');
  await contribute.focus();
  await page.keyboard.press('ArrowRight');
  await expect(run).toHaveAttribute('aria-selected', 'true');
  await expect(run).toBeFocused();
  await expect(page.getByRole('tabpanel', { name: 'Run' })).toBeVisible();
  await page.keyboard.press('ArrowRight'); // wraps
  await expect(contribute).toBeFocused();
  await page.keyboard.press('End');
  await expect(run).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Home');
  await expect(contribute).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowLeft');
  await expect(run).toBeFocused();
  expect(page.url()).toMatch(/#run$/);
  await page.context().close();
});

test('status and progress are live regions', async ({ browser }) => {
  const page = await openApp(browser, '#contribute');
  await expect(page.getByTestId('state')).toHaveAttribute('aria-live', 'polite');
  await page.getByTestId('tab-run').click();
  await setNumber(page, 'images', 1);
  await page.getByTestId('run').click();
  await expect(page.locator('mesh-progress-bar [role="status"]').first()).toHaveAttribute('aria-live', 'polite');
  await expect(page.getByTestId('matmul-phase')).toHaveAttribute('aria-live', 'polite');
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('cancelled')).toBeVisible();
  await page.context().close();
});

test('from 320 px wide nothing scrolls sideways, even with a long decimal balance', async ({ browser }) => {
  for (const width of [320, 360]) {
    const page = await openApp(browser, '#contribute', { viewport: { width, height: 720 } });
    await page.evaluate(() => {
      const balance = document.querySelector('mesh-app')?.shadowRoot?.querySelector('mesh-balance') as (Element & { micro?: number; held?: number }) | null;
      if (balance) {
        balance.micro = 123_456_789_012_345;
        balance.held = 98_765_432_101;
      }
    });
    await expect(page.getByTestId('balance')).toHaveAttribute('data-micro', '123456789012345');
    for (const tab of ['contribute', 'run']) {
      await page.getByTestId(`tab-${tab}`).click();
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(scroll, `${tab} at ${width} px`).toBeLessThanOrEqual(client);
    }
    await page.context().close();
  }
});

test('the first visit downloads the shell only: the service worker precaches under 4 MiB, no ORT runtime', async ({ request }) => {
  const sw = await (await request.get('/sw.js')).text();
  const urls = [...sw.matchAll(/url:"([^"]+)"/g)].map((m) => m[1]!);
  expect(urls.length).toBeGreaterThan(5);
  expect(urls.filter((u) => u.includes('ort-wasm'))).toEqual([]);
  let bytes = 0;
  for (const u of urls) bytes += (await (await request.get(`/${u.replace(/^\//, '')}`)).body()).byteLength;
  console.log(`service worker precache: ${urls.length} files, ${(bytes / 2 ** 20).toFixed(2)} MiB`);
  expect(bytes).toBeLessThan(4 * 2 ** 20);
});
