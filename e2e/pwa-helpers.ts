// Helpers for the specs that drive the PWA itself (src/ui): a fresh context per user, number fields, readouts.
import { type Browser, type BrowserContextOptions, expect, type Page } from '@playwright/test';

/** Opens the PWA at `hash` in a fresh context and waits until its header says it is connected. */
export async function openApp(browser: Browser, hash: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
  await page.goto(`/${hash}`);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  return page;
}

/** Types into a number field of the UI (its input and change handlers both read the text). */
export async function setNumber(page: Page, testId: string, value: number | string): Promise<void> {
  const input = page.getByTestId(testId);
  await input.fill(String(value));
  await input.dispatchEvent('change');
}

/** The micro-credits an element carries in `attr`, once it holds a whole number. */
export async function microOf(page: Page, testId: string, attr = 'data-micro'): Promise<number> {
  const el = page.getByTestId(testId);
  await expect(el).toHaveAttribute(attr, /^\d+$/);
  return Number(await el.getAttribute(attr));
}

/** Consents and starts contributing at full caps; waits until active. */
export async function startContributing(page: Page): Promise<void> {
  await page.getByTestId('cpu-cap').fill('100');
  await page.getByTestId('gpu-cap').fill('100');
  await page.getByTestId('consent').check();
  await page.getByTestId('start').click();
  await expect(page.getByTestId('state')).toHaveAttribute('data-state', 'active');
}
