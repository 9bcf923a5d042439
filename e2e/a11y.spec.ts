// Accessibility pass: axe-core (WCAG 2.x A/AA rules) over both tabs of the PWA, idle and with a job and a
// contributor shown, at desktop and phone widths. Serious and critical violations fail the test.
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { openApp, setNumber } from './pwa-helpers.ts';

async function serious(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
}

for (const width of [1280, 360]) {
  test(`no serious or critical axe violations on the Contribute and Run tabs at ${width} px`, async ({ browser }) => {
    const page = await openApp(browser, '#contribute', { viewport: { width, height: 900 } });
    expect(await serious(page), 'Contribute tab').toEqual([]);
    await page.getByTestId('consent').check();
    await setNumber(page, 'ask-price', '-1'); // an invalid field with its message
    expect(await serious(page), 'Contribute tab, invalid ask').toEqual([]);
    await page.getByTestId('tab-run').click();
    expect(await serious(page), 'Run tab').toEqual([]);
    await setNumber(page, 'images', '0');
    expect(await serious(page), 'Run tab, invalid field').toEqual([]);
    await page.context().close();
  });
}
