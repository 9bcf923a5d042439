// The script tag on a host page (e2e/pages/embed-host.html): nothing connects or runs before the visitor's
// Allow, the answer is remembered, the contributor follows tab visibility and the badge's Stop, and the tag
// works from another origin (the page on http://localhost, the coordinator and embed.js on http://127.0.0.1).
import { type BrowserContext, expect, type Page, test, type WebSocket } from '@playwright/test';
// Brings in the `window.meshwork` declaration (type only; the page loads the real /embed.js).
import type {} from '../src/sdk/embed.ts';
import { closeLeftoverPeers } from './fixtures.ts';
import { crossOriginHost } from './cross-origin-host.ts';

const HOST = '/e2e/pages/embed-host.html';

/** What the host page records from the embed's window events. */
interface EmbedEvent {
  type: string;
  consent?: string;
  mesh?: boolean;
  message?: string;
}

/** What the page opened towards the coordinator (URLs): sockets, HTTP requests to its endpoints, workers. */
interface Traffic {
  sockets: string[];
  requests: string[];
  workers: string[];
}

/** A page of `context` recording its traffic from the first request on; `sockets` are the live objects. */
async function watchedPage(context: BrowserContext): Promise<{ page: Page; traffic: Traffic; sockets: WebSocket[] }> {
  const page = await context.newPage();
  const traffic: Traffic = { sockets: [], requests: [], workers: [] };
  const sockets: WebSocket[] = [];
  page.on('websocket', (ws) => {
    traffic.sockets.push(ws.url());
    sockets.push(ws);
  });
  page.on('request', (req) => {
    if (/\/(api|mesh|peerjs)(\/|\?|$)/.test(new URL(req.url()).pathname)) traffic.requests.push(req.url());
  });
  page.on('worker', (w) => traffic.workers.push(w.url()));
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
  return { page, traffic, sockets };
}

const states = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { embedStates: string[] }).embedStates);
const events = (page: Page): Promise<EmbedEvent[]> => page.evaluate(() => (window as unknown as { embedEvents: EmbedEvent[] }).embedEvents);
const contributorState = (page: Page): Promise<string | null> => page.evaluate(() => window.meshwork?.mesh?.contributor.state ?? null);

/** Emulates the tab being hidden or shown: what the browser does when the visitor switches tabs. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** A socket that reached the coordinator's mesh API or PeerJS signalling. */
const meshSockets = (t: Traffic): string[] => t.sockets.filter((u) => /\/(mesh|peerjs)/.test(new URL(u).pathname));

// Peers left by earlier spec files would hand the embed's contributor work and change its badge.
test.beforeAll(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

test('the consent prompt comes first: nothing connects before Allow, and "Not now" is remembered', async ({ browser }) => {
  const context = await browser.newContext();
  try {
    const { page, traffic } = await watchedPage(context);
    await page.goto(HOST);
    const prompt = page.locator('meshwork-consent');
    await expect(prompt.getByTestId('consent-allow')).toBeVisible();
    const dialog = prompt.getByRole('dialog');
    await expect(dialog).toContainText('at most 20% of CPU time and 30% of GPU time');
    await expect(dialog).toContainText('127.0.0.1');
    // Who gets the compute (the Meshwork network, not the site) and what is earned.
    await expect(dialog.getByRole('heading')).toHaveText("Share this device's spare computing power with the Meshwork network?");
    await expect(dialog).toContainText('not for 127.0.0.1');
    await expect(dialog).toContainText('earns Meshwork credits');
    // Allow does not hold the focus: a stray Enter must not agree for the visitor.
    await expect(prompt.getByTestId('consent-allow')).not.toBeFocused();
    await page.keyboard.press('Enter');
    await expect(prompt.getByTestId('consent-allow')).toBeVisible();
    expect(await page.evaluate(() => window.meshwork?.consent)).toBe('pending');
    // Give a premature connection time to show up: the prompt alone must not open anything.
    await page.waitForTimeout(1000);
    expect(traffic).toEqual({ sockets: [], requests: [], workers: [] });
    expect(await page.evaluate(() => window.meshwork?.mesh === null)).toBe(true);

    await prompt.getByTestId('consent-deny').click();
    await expect(prompt).toHaveCount(0);
    await expect.poll(() => events(page)).toEqual([{ type: 'meshwork:ready', consent: 'deny', mesh: false }]);
    expect(await page.evaluate(() => window.meshwork?.consent)).toBe('deny');

    // Reload: the answer is remembered per coordinator, so no prompt, no connection, and the page can tell.
    await page.reload();
    await expect.poll(() => events(page)).toEqual([{ type: 'meshwork:ready', consent: 'deny', mesh: false }]);
    expect(await page.evaluate(() => window.meshwork?.consent)).toBe('deny');
    await expect(page.locator('meshwork-consent')).toHaveCount(0);
    await expect(page.locator('meshwork-badge')).toHaveCount(0);
    await page.waitForTimeout(500);
    expect(traffic).toEqual({ sockets: [], requests: [], workers: [] });
  } finally {
    await context.close();
  }
});

test('Allow connects and contributes; a hidden tab pauses, a visible one resumes, and Stop on the badge stops', async ({ browser }) => {
  const context = await browser.newContext();
  try {
    const { page, traffic, sockets } = await watchedPage(context);
    await page.goto(HOST);
    await expect(page.getByTestId('consent-allow')).toBeVisible();
    expect(meshSockets(traffic)).toEqual([]);

    await page.getByTestId('consent-allow').click();
    await expect.poll(() => events(page)).toEqual([{ type: 'meshwork:ready', consent: 'allow', mesh: true }]);
    expect(await contributorState(page)).toBe('active');
    const opened = meshSockets(traffic).map((u) => new URL(u).pathname);
    expect(opened).toContain('/mesh');
    expect(opened.some((p) => p.startsWith('/peerjs'))).toBe(true);
    // The watcher sees the page's requests (so the empty lists before Allow mean something).
    expect(traffic.requests.some((u) => new URL(u).pathname === '/api/config')).toBe(true);
    expect(traffic.workers.length).toBeGreaterThan(0);
    // The caps and ask price of the tag's data attributes are what the contributor runs with.
    const origin = new URL(page.url()).origin;
    expect(await page.evaluate(() => window.meshwork?.config)).toEqual({ coordinator: origin, coordinators: [origin], cpuCap: 0.2, gpuCap: 0.3, askPrice: 2 });

    const badge = page.locator('meshwork-badge');
    await expect(badge.getByTestId('badge-text')).toHaveText('Sharing compute · 0 shards');
    await expect(badge.getByTestId('badge-stop')).toBeVisible();
    // The tooltip says what Stop does with consent: it remembers "no".
    await expect(badge.getByTestId('badge-stop')).toHaveAttribute('title', /remembered/);

    // Pause-when-hidden is the SDK contributor's power rule, as in the PWA.
    await setHidden(page, true);
    await expect.poll(() => contributorState(page)).toBe('paused');
    await expect(badge.getByTestId('badge-text')).toHaveText('Paused while the tab is hidden');
    expect(await page.evaluate(() => window.meshwork?.mesh?.contributor.power)).toMatchObject({ holding: true, reason: 'paused while the tab is hidden' });
    await setHidden(page, false);
    await expect.poll(() => contributorState(page)).toBe('active');
    await expect(badge.getByTestId('badge-text')).toHaveText(/^Sharing compute/);
    // Every state change was announced to the page, and window.meshwork.status follows.
    await expect.poll(() => states(page)).toEqual(['connecting', 'starting', 'active', 'paused', 'active']);
    expect(await page.evaluate(() => window.meshwork?.status)).toBe('active');

    await badge.getByTestId('badge-stop').click();
    await expect.poll(() => events(page).then((e) => e.map((x) => x.type))).toEqual(['meshwork:ready', 'meshwork:stopped']);
    expect((await states(page)).at(-1)).toBe('stopped');
    await expect(badge).toHaveCount(0);
    expect(await page.evaluate(() => window.meshwork?.mesh === null)).toBe(true);
    expect(await page.evaluate(() => window.meshwork?.consent)).toBe('deny');
    // Both connections are closed, not just idle.
    const open = () => sockets.filter((ws) => !ws.isClosed()).map((ws) => ws.url());
    await expect.poll(open).toEqual([]);

    // Stopping is remembered as "no": a reload neither asks nor connects.
    const before = traffic.sockets.length;
    await page.reload();
    await expect.poll(() => events(page)).toEqual([{ type: 'meshwork:ready', consent: 'deny', mesh: false }]);
    await expect(page.locator('meshwork-consent')).toHaveCount(0);
    expect(traffic.sockets.length).toBe(before);
  } finally {
    await context.close();
  }
});

test('from another origin the tag connects to its coordinator and contributes, its workers started through a blob shim', async ({
  browser,
  baseURL,
}) => {
  // Same server, another origin: the browser treats localhost and 127.0.0.1 as different sites' origins.
  const { context, hostOrigin, coordinator } = await crossOriginHost(browser, baseURL);
  try {
    const { page, traffic } = await watchedPage(context);
    await page.goto(`${hostOrigin}${HOST}`);
    expect(await page.evaluate(() => [location.origin, crossOriginIsolated])).toEqual([hostOrigin, true]);
    await expect(page.getByTestId('consent-allow')).toBeVisible();
    expect(await page.evaluate(() => window.meshwork?.config.coordinator)).toBe(coordinator.origin);
    expect(meshSockets(traffic)).toEqual([]);

    await page.getByTestId('consent-allow').click();
    await expect.poll(() => events(page)).toEqual([{ type: 'meshwork:ready', consent: 'allow', mesh: true }]);
    expect(await contributorState(page)).toBe('active');
    // Mesh API and signalling sockets, both to the coordinator's origin rather than the page's.
    expect(meshSockets(traffic).length).toBeGreaterThanOrEqual(2);
    for (const url of meshSockets(traffic)) expect(new URL(url).host).toBe(coordinator.host);
    // The worker scripts live on the coordinator's origin, so each worker starts from a same-origin blob module.
    expect(traffic.workers.length).toBeGreaterThan(0);
    for (const url of traffic.workers) expect(url.slice(0, `blob:${hostOrigin}/`.length)).toBe(`blob:${hostOrigin}/`);
    // Starting measured the device in those workers: benchmarks ran there.
    const caps = await page.evaluate(() => window.meshwork?.mesh?.contributor.capabilities);
    expect(caps?.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(caps?.gflops.cpu).toBeGreaterThan(0);

    expect(await page.evaluate(() => window.meshwork?.isolated)).toBe(true);

    // The page's own SDK calls (another identity, so the embed keeps its session) use the coordinator the script
    // came from, not the page's origin, and a relative model URL names the coordinator's model.
    const modelRequests: string[] = [];
    page.on('request', (req) => {
      if (new URL(req.url()).pathname.startsWith('/models/')) modelRequests.push(req.url());
    });
    const own = await page.evaluate(async () => {
      const mesh = await window.meshwork!.sdk.connect({ identity: 'page' });
      const job = mesh.client.runOnnx({
        model: { url: '/models/ppocr-det-v4.onnx' },
        inputs: { x: { dtype: 'float32', dims: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) } },
        outputs: ['sigmoid_0.tmp_0'],
      });
      const id = await job.jobId.then((j) => j, (e: Error) => `failed: ${e.message}`);
      await job.cancel().catch(() => undefined);
      const coordinator = mesh.coordinator;
      await mesh.close();
      return { coordinator, submitted: id.startsWith('failed') ? id : 'submitted' };
    });
    expect(own).toEqual({ coordinator: coordinator.origin, submitted: 'submitted' });
    expect(modelRequests.length).toBeGreaterThan(0);
    for (const url of modelRequests) expect(new URL(url).origin).toBe(coordinator.origin);

    await page.evaluate(() => window.meshwork?.stop());
    expect(await page.evaluate(() => window.meshwork?.mesh === null)).toBe(true);
  } finally {
    await context.close();
  }
});

test('on a page without COOP/COEP the embed says it is not cross-origin isolated', async ({ browser }) => {
  const context = await browser.newContext();
  try {
    // The same host page, its isolation headers removed, as a site that never set them would serve it.
    await context.route(`**${HOST}`, async (route) => {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response: res, headers });
    });
    const { page } = await watchedPage(context);
    const warnings: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'warning') warnings.push(msg.text());
    });
    await page.goto(HOST);
    await expect(page.getByTestId('consent-allow')).toBeVisible();
    expect(await page.evaluate(() => [crossOriginIsolated, window.meshwork?.isolated])).toEqual([false, false]);
    expect(warnings.some((w) => w.includes('not cross-origin isolated') && w.includes('Cross-Origin-Embedder-Policy'))).toBe(true);
  } finally {
    await context.close();
  }
});
