// Shared helpers for the e2e specs: one browser context per peer (own IndexedDB, so own key pair).
import { type Browser, type Page, expect } from '@playwright/test';

/** A page of its own browser context, on the harness page, with the SDK loaded. */
export async function openPeer(browser: Browser, path = '/e2e/pages/mesh.html'): Promise<Page> {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('response', (res) => { if (res.status() === 404) console.error('[404] ' + res.url()); });
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  return page;
}

/** Connects the page to the mesh and starts contributing; returns the peer id. */
export async function startContributor(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const mesh = await window.meshTest.sdk.connect();
    (window as unknown as { mesh: typeof mesh }).mesh = mesh;
    const shards: unknown[] = [];
    mesh.contributor.addEventListener('shard', (e) => shards.push((e as CustomEvent).detail));
    (window as unknown as { shardEvents: unknown[] }).shardEvents = shards;
    await mesh.contributor.start({ cpuCap: 1, gpuCap: 1 });
    return mesh.peerId;
  });
}

/** Connects the page as a client; returns the peer id. */
export async function connectClient(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const mesh = await window.meshTest.sdk.connect();
    (window as unknown as { mesh: typeof mesh }).mesh = mesh;
    return mesh.peerId;
  });
}

/** The coordinator's ledger audit. */
export interface LedgerAudit {
  minted: number;
  total: number;
  accounts: Record<string, number>;
}

/** Reads the ledger audit through the page's origin (the coordinator). */
export async function ledger(page: Page): Promise<LedgerAudit> {
  const res = await page.request.get('/api/ledger');
  expect(res.ok()).toBe(true);
  return (await res.json()) as LedgerAudit;
}
