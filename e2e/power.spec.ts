// Power rules live in the SDK's contributor (`contributor.start({ power })`), so the PWA and the embed behave the
// same. The battery level is the one thing faked here: Chromium's Battery Status API reports the host (no battery
// in CI), so an init script replaces navigator.getBattery() with a battery whose level and charging state the test
// sets. Everything else (the contributor, the coordinator's view of it, the PWA) is real.
import { type BrowserContext, expect, type Page, test } from '@playwright/test';
import { closeLeftoverPeers, meshStats } from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
});

/** A context whose pages see a fake battery (see the header), set through `window.fakeBattery.set()`. */
async function batteryContext(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const battery = Object.assign(new EventTarget(), { charging: false, level: 0.9 });
    Object.defineProperty(navigator, 'getBattery', { configurable: true, value: () => Promise.resolve(battery) });
    (window as unknown as { fakeBattery: unknown }).fakeBattery = {
      set(level: number, charging: boolean) {
        battery.level = level;
        battery.charging = charging;
        battery.dispatchEvent(new Event('levelchange'));
        battery.dispatchEvent(new Event('chargingchange'));
      },
    };
  });
}

const setBattery = (page: Page, level: number, charging: boolean) =>
  page.evaluate(({ level, charging }) => (window as unknown as { fakeBattery: { set(l: number, c: boolean): void } }).fakeBattery.set(level, charging), { level, charging });

type W = Window & { mesh: Awaited<ReturnType<typeof window.meshTest.sdk.connect>> };
const contributor = (page: Page) => page.evaluate(() => {
  const c = (window as unknown as W).mesh.contributor;
  return { state: c.state, reason: c.power.reason, holding: c.power.holding };
});

/** Emulates the tab being hidden or shown: what the browser does when the visitor switches tabs. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('contributor.start({ power }): the battery floor, charging-only and pause-when-hidden pause and resume it, a manual pause stays', async ({ browser, request }) => {
  const context = await browser.newContext();
  await batteryContext(context);
  const page = await context.newPage();
  await page.goto('/e2e/pages/mesh.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.evaluate(async () => {
    const mesh = await window.meshTest.sdk.connect();
    (window as unknown as W).mesh = mesh;
    await mesh.contributor.start({ cpuCap: 1, gpuCap: 1, backgroundTuning: false, power: { batteryFloor: 0.3, pauseWhenHidden: true } });
  });
  expect(await contributor(page)).toEqual({ state: 'active', reason: '', holding: false });
  expect(await page.evaluate(() => (window as unknown as W).mesh.contributor.power.batterySupported)).toBe(true);

  await setBattery(page, 0.2, false);
  await expect.poll(() => contributor(page)).toEqual({ state: 'paused', reason: 'battery at 20%, below the 30% floor', holding: true });
  // The coordinator stops offering it work.
  await expect.poll(async () => (await meshStats(request)).active).toBe(0);
  await setBattery(page, 0.2, true); // on the charger the floor does not apply
  await expect.poll(() => contributor(page)).toEqual({ state: 'active', reason: '', holding: false });
  await expect.poll(async () => (await meshStats(request)).active).toBe(1);

  await setHidden(page, true);
  await expect.poll(() => contributor(page)).toEqual({ state: 'paused', reason: 'paused while the tab is hidden', holding: true });
  await setHidden(page, false);
  await expect.poll(() => contributor(page)).toMatchObject({ state: 'active' });

  // Rules change live: charging-only pauses now that it runs on battery.
  await page.evaluate(() => (window as unknown as W).mesh.contributor.setPower({ chargingOnly: true }));
  await setBattery(page, 0.9, false);
  await expect.poll(() => contributor(page)).toEqual({ state: 'paused', reason: 'waiting for the charger', holding: true });
  await setBattery(page, 0.9, true);
  await expect.poll(() => contributor(page)).toMatchObject({ state: 'active' });

  // A pause the person chose is theirs: the rules never lift it.
  await page.evaluate(() => (window as unknown as W).mesh.contributor.pause());
  await setBattery(page, 0.9, false);
  await setBattery(page, 0.9, true);
  await page.waitForTimeout(500);
  expect(await contributor(page)).toMatchObject({ state: 'paused', holding: false });
  await page.evaluate(() => (window as unknown as W).mesh.close());
});

test('the PWA applies its battery floor through the SDK and says why it paused', async ({ browser }) => {
  const context = await browser.newContext();
  await batteryContext(context);
  const page = await context.newPage();
  await page.goto('/#contribute');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('battery-floor')).toBeEnabled();
  await page.getByTestId('battery-floor').selectOption('0.5');
  await page.getByTestId('consent').check();
  await page.getByTestId('start').click();
  await expect(page.getByTestId('state')).toHaveAttribute('data-state', 'active');
  await setBattery(page, 0.4, false);
  await expect(page.getByTestId('state')).toHaveAttribute('data-state', 'paused');
  await expect(page.getByTestId('power-reason')).toHaveText('Paused: battery at 40%, below the 50% floor');
  await setBattery(page, 0.6, false);
  await expect(page.getByTestId('state')).toHaveAttribute('data-state', 'active');
  await expect(page.getByTestId('power-reason')).toHaveCount(0);
  await page.getByTestId('stop').click();
});
