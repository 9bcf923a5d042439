// The PWA as people use it: a contributor and a client, each in a browser context of its own (own IndexedDB,
// so own key pair), driving the real UI against the coordinator serving the build. The UI is Lit elements in
// shadow DOM; Playwright's test-id locators pierce open shadow roots, so each test id below is the one the
// element renders (src/ui/*.ts).
import { type Browser, expect, type Page, test } from '@playwright/test';
import { closeLeftoverPeers } from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

/** Every new identity's starter credits, in micro-credits (README: 1,000 credits). */
const STARTER = 1_000_000_000;
/** The protocol fee, in percent of each payment, rounded down per payment (src/core/cost.ts feeFor). */
const FEE_PERCENT = 5;
/** ONNX work units per batch item (README: ONNX shard = items x 1000). */
const UNITS_PER_ITEM = 1000;

let contributor: Page;
let client: Page;
/** Shards the contributor has run so far, across tests. */
let shardsSoFar = 0;

/** Opens the PWA at `hash` in a fresh context and waits until its header says it is connected. */
async function openApp(browser: Browser, hash: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
  await page.goto(`/${hash}`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  return page;
}

/** A number input of the UI: its @change handler is what updates the element's state. */
async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = page.getByTestId(testId);
  await input.fill(String(value));
  await input.dispatchEvent('change');
}

/** The micro-credits an element carries in `attr`, once it holds a whole number. */
async function microOf(page: Page, testId: string, attr = 'data-micro'): Promise<number> {
  const el = page.getByTestId(testId);
  await expect(el).toHaveAttribute(attr, /^\d+$/);
  return Number(await el.getAttribute(attr));
}

/** What the UI shows for an amount (src/ui/format.ts formatCredits). */
const credits = (micro: number): string => (micro / 1e6).toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: 6 });

// The counters below are exact, so no contributor of an earlier spec file may take this client's shards.
test.beforeAll(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

test.afterAll(async () => {
  await contributor?.context().close();
  await client?.context().close();
});

test('Start is refused until the consent box is ticked; then the contributor is active and shows its device', async ({ browser }) => {
  contributor = await openApp(browser, '#contribute');
  const start = contributor.getByTestId('start');
  const state = contributor.getByTestId('state');
  await expect(contributor.getByTestId('consent')).not.toBeChecked();
  await expect(state).toHaveAttribute('data-state', 'stopped');
  await expect(start).toBeDisabled();
  await expect(contributor.getByTestId('capabilities-empty')).toBeVisible();
  expect(await microOf(contributor, 'balance')).toBe(STARTER);

  // Full duty cycle, so the shards of the next tests finish quickly on a busy machine.
  await contributor.getByTestId('cpu-cap').fill('100');
  await contributor.getByTestId('gpu-cap').fill('100');
  await contributor.getByTestId('consent').check();
  await expect(start).toBeEnabled();
  await start.click();

  await expect(state).toHaveAttribute('data-state', 'active');
  await expect(state).toHaveText('active');
  await expect(start).toBeDisabled();
  await expect(contributor.getByTestId('pause')).toBeEnabled();
  await expect(contributor.getByTestId('resume')).toBeDisabled();
  // The capabilities table: an adapter (SwiftShader here, a real GPU elsewhere) and the page's core count.
  await expect(contributor.getByTestId('capabilities')).toBeVisible();
  const gpu = contributor.getByTestId('cap-gpu');
  await expect(gpu).not.toContainText('no WebGPU');
  await expect(gpu).toHaveText(/\S/);
  const cores = await contributor.evaluate(() => navigator.hardwareConcurrency);
  await expect(contributor.getByTestId('cap-cores')).toHaveText(String(cores));
  await expect(contributor.getByTestId('cap-gflops')).toHaveText(/CPU \d+\.\d\d GFLOP\/s/);
  await expect(contributor.getByTestId('shards-run')).toHaveText('0');
});

test('a detector job from the Run tab completes; its cost readouts add up and the contributor is paid', async ({ browser }) => {
  client = await openApp(browser, '#run');
  await expect(client.getByTestId('model-meta')).toContainText('sha256');
  const before = await microOf(client, 'balance');
  expect(before).toBe(STARTER);

  // 2 images of 128 x 128, one per shard, no verification replicas (there is a single contributor).
  const images = 2;
  const bid = 2;
  await setNumber(client, 'images', images);
  await client.getByTestId('image-size').selectOption('128');
  await setNumber(client, 'items-per-shard', 1);
  await setNumber(client, 'bid', bid);
  await setNumber(client, 'verify-fraction', 0);
  await client.getByTestId('run').click();

  const progress = client.getByTestId('progress');
  await expect(progress).toHaveAttribute('max', String(images));
  await expect(progress).toHaveAttribute('value', String(images));
  await expect(progress).toHaveAttribute('state', 'done');
  await expect(client.getByTestId('results-summary')).toContainText(`${images} images`);
  await expect(client.getByTestId('error')).toHaveCount(0);
  await expect(client.getByTestId('job-id')).toHaveText(/\S/);
  // Each result is a text-pixel share; the generated images hold text, so the detector finds some.
  const fractions: number[] = [];
  for (let i = 0; i < images; i++) fractions.push(Number(await client.getByTestId(`result-${i}`).getAttribute('data-fraction')));
  for (const f of fractions) {
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThanOrEqual(1);
  }
  expect(Math.max(...fractions)).toBeGreaterThan(0);

  const spent = await microOf(client, 'cost', 'data-spent');
  const fees = await microOf(client, 'cost', 'data-fees');
  const refunded = await microOf(client, 'cost', 'data-refunded');
  console.log(`detector job, ${images} images of 128 x 128: spent ${spent}, fees ${fees}, refunded ${refunded} micro-credits`);
  expect(spent).toBeGreaterThan(0);
  expect(spent % images).toBe(0); // equal shards, equal pay
  expect(fees).toBe(images * Math.floor(((spent / images) * FEE_PERCENT) / 100));
  // The escrow (three runs per shard, each at most bid x work units + fee: the primary, a replica and a
  // tie-breaker or arbiter the market may add) is fully released: paid, charged as fees, or refunded.
  const perRunMax = bid * UNITS_PER_ITEM + Math.floor((bid * UNITS_PER_ITEM * FEE_PERCENT) / 100);
  expect(spent + fees + refunded).toBe(3 * images * perRunMax);
  await expect(client.getByTestId('cost-spent')).toHaveText(credits(spent + fees)); // "Spent" includes the fees
  await expect(client.getByTestId('cost-fees')).toHaveText(credits(fees));
  await expect(client.getByTestId('cost-refunded')).toHaveText(credits(refunded));
  await expect(client.getByTestId('elapsed')).toHaveText(/\d+ (ms|s)$/);
  await expect(client.getByTestId('balance')).toHaveAttribute('data-micro', String(before - spent - fees));

  // The contributor ran both shards and was credited exactly what the client spent.
  shardsSoFar += images;
  await expect(contributor.getByTestId('shards-run')).toHaveText(String(shardsSoFar));
  await expect(contributor.getByTestId('shards-failed')).toHaveText('0');
  await expect(contributor.getByTestId('earned')).toHaveAttribute('data-micro', String(spent));
  await expect(contributor.getByTestId('earned')).toHaveText(credits(spent));
  await expect(contributor.getByTestId('balance')).toHaveAttribute('data-micro', String(STARTER + spent));
});

test('the WGSL matmul panel runs a tiled matmul on the contributor and matches the CPU reference', async () => {
  await client.getByTestId('matmul-size').selectOption('128');
  await client.getByTestId('matmul-tile').selectOption('64');
  await setNumber(client, 'matmul-verify', 0);
  const earnedBefore = await microOf(contributor, 'earned');
  await client.getByTestId('matmul-run').click();

  const maxError = client.getByTestId('matmul-error');
  await expect(maxError).toHaveAttribute('data-value', /\d/);
  await expect(client.getByTestId('matmul-error-message')).toHaveCount(0);
  const err = Number(await maxError.getAttribute('data-value'));
  console.log(`matmul 128^3 in tiles of 64 on the mesh: max |error| ${err.toExponential(2)}`);
  expect(Number.isFinite(err)).toBe(true);
  expect(err).toBeLessThan(1e-4);
  const tiles = (128 / 64) ** 2;
  await expect(client.getByTestId('matmul-progress')).toHaveAttribute('max', String(tiles));
  await expect(client.getByTestId('matmul-progress')).toHaveAttribute('value', String(tiles));
  expect(Number(await client.getByTestId('matmul-gflops').getAttribute('data-value'))).toBeGreaterThan(0);
  await expect(client.getByTestId('matmul-phase')).toHaveText('done');
  await expect(client.getByTestId('matmul-cost')).not.toHaveText('…');

  shardsSoFar += tiles;
  await expect(contributor.getByTestId('shards-run')).toHaveText(String(shardsSoFar));
  await expect.poll(() => microOf(contributor, 'earned')).toBeGreaterThan(earnedBefore);
});

test('Pause, Resume and Stop change the state readout and the buttons', async () => {
  const state = contributor.getByTestId('state');
  await contributor.getByTestId('pause').click();
  await expect(state).toHaveAttribute('data-state', 'paused');
  await expect(contributor.getByTestId('pause')).toBeDisabled();
  await expect(contributor.getByTestId('resume')).toBeEnabled();

  await contributor.getByTestId('resume').click();
  await expect(state).toHaveAttribute('data-state', 'active');
  await expect(contributor.getByTestId('resume')).toBeDisabled();

  await contributor.getByTestId('stop').click();
  await expect(state).toHaveAttribute('data-state', 'stopped');
  await expect(state).toHaveText('stopped');
  await expect(contributor.getByTestId('stop')).toBeDisabled();
  // Consent stays given, so the contributor can start again.
  await expect(contributor.getByTestId('start')).toBeEnabled();
});

test('the PWA shell is served by its service worker and loads offline after one visit', async ({ browser, baseURL }) => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByTestId('tab-contribute')).toBeVisible();
    // clientsClaim: the worker takes over this page once it has installed (precached the shell).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${baseURL}/sw.js`);

    await context.setOffline(true);
    expect(await page.evaluate(() => fetch('/healthz').then(() => 'reached', () => 'unreachable'))).toBe('unreachable');
    const res = await page.reload();
    expect(res?.fromServiceWorker()).toBe(true);
    await expect(page.getByTestId('tab-contribute')).toBeVisible();
    await expect(page.getByTestId('tab-run')).toBeVisible();
    await expect(page.getByTestId('consent')).toBeVisible();
    // The cached shell keeps its COOP/COEP headers, so WASM threads still work offline.
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // The coordinator is out of reach: the header says so rather than pretending to be connected.
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'failed');
  } finally {
    await context.close();
  }
});
