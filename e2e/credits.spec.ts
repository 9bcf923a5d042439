// Credits people understand (issue 11, item 5): what a credit and an ask are, credits per hour, the cost
// before Run, costs in credits including fees, GFLOP/s never "0.00", a per-day chart that survives a reload and a
// client job history.
import { expect, type Page, test } from '@playwright/test';
import { closeLeftoverPeers } from './fixtures.ts';
import { microOf, openApp, setNumber, startContributing } from './pwa-helpers.ts';

test.describe.configure({ mode: 'serial' });

let contributor: Page;
let client: Page;

const credits = (micro: number): string => (micro / 1e6).toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: 6 });

test.beforeAll(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

test.afterAll(async () => {
  await contributor?.context().close();
  await client?.context().close();
});

test('the Contribute tab says what a credit and an ask are, and estimates credits per hour once measured', async ({ browser }) => {
  contributor = await openApp(browser, '#contribute');
  await expect(contributor.getByTestId('credits-explained').first()).toContainText('A credit is');
  await expect(contributor.getByTestId('ask-explained')).toContainText('work unit is one MFLOP');
  await expect(contributor.getByTestId('earn-rate')).toContainText('Press Start');
  await startContributing(contributor);
  const rate = contributor.getByTestId('earn-rate');
  await expect(rate).toContainText(/about [\d,.]+ credits per hour/);
  expect(await microOf(contributor, 'earn-rate')).toBeGreaterThan(0);
  // Halving the CPU cap halves a CPU-bound estimate (SwiftShader's GPU figure may be the faster one: at most equal).
  const full = await microOf(contributor, 'earn-rate');
  await contributor.getByTestId('cpu-cap').fill('50');
  await contributor.getByTestId('gpu-cap').fill('50');
  await expect.poll(() => microOf(contributor, 'earn-rate')).toBeLessThan(full);
  await contributor.getByTestId('cpu-cap').fill('100');
  await contributor.getByTestId('gpu-cap').fill('100');
});

test('the Run tab shows the cost before Run at the lowest ask, then the charge including fees, and keeps the job', async ({ browser }) => {
  client = await openApp(browser, '#run');
  await expect(client.locator('mesh-client-view').getByTestId('credits-explained')).toContainText('1 credit = 1,000,000 µcredits');
  await setNumber(client, 'images', 2);
  await client.getByTestId('image-size').selectOption('128');
  await setNumber(client, 'items-per-shard', 1);
  await setNumber(client, 'bid', 2);
  await setNumber(client, 'verify-fraction', 0);
  // One contributor asking 1 micro-credit per work unit (the default): 2 shards of 1000 units, 5% fee.
  const estimate = client.getByTestId('estimate').first();
  await expect(estimate).toContainText('at the lowest ask on offer, 1 µcredits / work unit', { timeout: 20_000 });
  await expect(estimate).toHaveAttribute('data-expected', String(2 * (1000 + 50)));
  await expect(estimate).toHaveAttribute('data-escrow', String(3 * 2 * (2000 + 100)));
  await expect(client.getByTestId('estimate-expected').first()).toHaveText('≈ 0.0021 credits');

  await client.getByTestId('run').click();
  await expect(client.getByTestId('progress')).toHaveAttribute('state', 'done');
  const spent = await microOf(client, 'cost', 'data-spent');
  const fees = await microOf(client, 'cost', 'data-fees');
  expect(spent + fees).toBe(2 * (1000 + 50)); // the estimate was exact
  await expect(client.getByTestId('cost-spent')).toHaveText(credits(spent + fees)); // "Spent" includes fees
  await expect(client.getByText('Spent (credits, incl. fees)')).toBeVisible();
  const row = client.getByTestId('history-row').first();
  await expect(row).toHaveAttribute('data-outcome', 'done');
  await expect(row).toContainText(credits(spent + fees));
});

test('the matmul never shows "0.00" GFLOP/s and states its cost including fees', async () => {
  await client.getByTestId('matmul-size').selectOption('128');
  await client.getByTestId('matmul-tile').selectOption('64');
  await setNumber(client, 'matmul-verify', 0);
  await client.getByTestId('matmul-run').click();
  await expect(client.getByTestId('matmul-phase')).toHaveText('done');
  const gflops = client.getByTestId('matmul-gflops');
  await expect(gflops).not.toHaveText(/^0\.00$/);
  await expect(gflops).toHaveText(/^(—|[1-9][\d,]*(\.\d+)?|0\.0*[1-9]\d{0,2})$/);
  await expect(client.getByTestId('matmul-cost')).not.toHaveText('…');
  await expect(client.getByTestId('history-row')).toHaveCount(2);
  await expect(client.getByTestId('history-row').first()).toContainText('Matmul 128×128');
});

test("the contributor's chart counts today's credits and shards, and keeps them across a reload", async () => {
  const chart = contributor.getByTestId('earnings-chart');
  await expect(chart).toHaveAttribute('data-shards', '6'); // 2 detector shards + 4 matmul tiles
  const earned = Number(await chart.getAttribute('data-earned'));
  expect(earned).toBe(await microOf(contributor, 'earned'));
  await contributor.reload();
  await expect(contributor.getByTestId('earnings-chart')).toHaveAttribute('data-shards', '6');
  await expect(contributor.getByTestId('earnings-chart')).toHaveAttribute('data-earned', String(earned));
  await expect(contributor.getByTestId('earnings-chart')).toHaveAttribute('aria-label', /6 shards run/);
});
