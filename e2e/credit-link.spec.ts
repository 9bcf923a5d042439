// Credits earned through an embed belong to that site's identity (storage is partitioned per site); the visitor
// moves them into the app's identity (issue 11, item 5): the embed opens the app, the visitor confirms there, and
// the embed hands them over with a signed link. The host page is cross-origin isolated (COOP), so the two windows
// cannot talk to each other: they meet at the coordinator.
import { expect, test } from '@playwright/test';
import type {} from '../src/sdk/embed.ts';
import { closeLeftoverPeers, ledger } from './fixtures.ts';
import { crossOriginHost, HOST_PAGE as HOST } from './cross-origin-host.ts';

test('credits of a site embed move into the app identity after the visitor confirms in the app, once', async ({ browser, request, baseURL }) => {
  await closeLeftoverPeers(browser, request);
  const { context, hostOrigin, coordinator } = await crossOriginHost(browser, baseURL);
  try {
    const host = await context.newPage();
    await host.goto(`${hostOrigin}${HOST}`);
    expect(await host.evaluate(() => crossOriginIsolated)).toBe(true);
    await host.getByTestId('consent-allow').click();
    await expect.poll(() => host.evaluate(() => window.meshwork?.mesh?.contributor.state)).toBe('active');
    const embedId = await host.evaluate(() => window.meshwork!.mesh!.peerId);
    const held = await host.evaluate(() => window.meshwork!.mesh!.balance());
    expect(held).toBeGreaterThan(0);

    // The host site's own "move my credits" button: a click, so the window may open.
    await host.evaluate(() => {
      const b = document.createElement('button');
      b.textContent = 'Move my credits to the Meshwork app';
      b.dataset.testid = 'move-credits';
      b.onclick = () => {
        (window as unknown as { moved: Promise<unknown> }).moved = window.meshwork!.moveCredits().then((r) => r, (e: Error) => ({ error: e.message }));
      };
      document.body.append(b);
    });
    const opened = context.waitForEvent('page');
    await host.getByTestId('move-credits').click();
    const app = await opened;
    await app.waitForLoadState();
    expect(new URL(app.url()).origin).toBe(coordinator.origin);
    const claim = app.getByTestId('credit-claim');
    await expect(claim).toContainText(`The Meshwork tag on ${hostOrigin} offers to move the credits`);
    await expect(app.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
    const appId = await app.locator('span.peer').getAttribute('title');
    expect(appId).toMatch(/^mw[0-9a-f]{40}$/);
    const before = await ledger(host, coordinator.origin); // both identities have their accounts now
    // Nothing moves before the visitor confirms.
    await app.waitForTimeout(1_500);
    expect(await host.evaluate(() => window.meshwork!.mesh!.balance())).toBe(held);
    await app.getByTestId('claim-accept').click();
    await expect(app.getByTestId('claim-message')).toContainText(`credits from ${hostOrigin} are now in this app's balance`, { timeout: 10_000 });
    const moved = await host.evaluate(() => (window as unknown as { moved: Promise<{ moved?: boolean; earned?: number; grant?: number; error?: string }> }).moved);
    expect(moved.error).toBeUndefined();
    expect(moved.moved).toBe(true);
    expect((moved.earned ?? 0) + (moved.grant ?? 0)).toBe(held);
    expect(await host.evaluate(() => window.meshwork!.mesh!.balance())).toBe(0);
    const after = await ledger(host, coordinator.origin);
    expect(after.minted).toBe(before.minted);
    expect(after.total).toBe(after.minted);
    // ledger() counts each identity's earned and grant credits together.
    const spendable = (id: string, books: typeof after) => books.accounts[`peer:${id}`] ?? 0;
    expect(spendable(embedId, after)).toBe(0);
    expect(spendable(appId!, after) - spendable(appId!, before)).toBe(held);
  } finally {
    await context.close();
  }
});
