// The embed host page as another site would publish it: served on http://localhost (another origin than the
// coordinator's http://127.0.0.1, so the browser treats them as different sites), its tag pointing at the
// coordinator's origin.
import { type Browser, type BrowserContext, expect } from '@playwright/test';

/** Path of the host page on the suite's server. */
export const HOST_PAGE = '/e2e/pages/embed-host.html';

/** A fresh context whose `${hostOrigin}${HOST_PAGE}` loads embed.js from the coordinator at `baseURL`. */
export async function crossOriginHost(browser: Browser, baseURL: string | undefined): Promise<{ context: BrowserContext; hostOrigin: string; coordinator: URL }> {
  const coordinator = new URL(baseURL ?? 'http://127.0.0.1:8787');
  const hostOrigin = `http://localhost:${coordinator.port}`;
  const context = await browser.newContext();
  // A response fulfilled by the route below has no server address, so Chromium's Local Network Access counts
  // the page as public and would block its requests to 127.0.0.1; served straight from localhost it is a loopback
  // page and needs no grant. The grant restores what the real page has, nothing more.
  await context.grantPermissions(['local-network-access'], { origin: hostOrigin });
  await context.route(`${hostOrigin}${HOST_PAGE}`, async (route) => {
    const res = await route.fetch();
    const html = (await res.text()).replace('src="/embed.js"', `src="${coordinator.origin}/embed.js" data-coordinator="${coordinator.origin}"`);
    expect(html).toContain(`${coordinator.origin}/embed.js`);
    await route.fulfill({ response: res, body: html });
  });
  return { context, hostOrigin, coordinator };
}
