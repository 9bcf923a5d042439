/** Which coordinator `connect()` uses when none is named: where the SDK was loaded from, not the page. */
import { coordinatorBase } from '../mesh/coordinator-list.ts';

/**
 * The origin of the SDK module (`moduleUrl`, its `import.meta.url`) when it is an http(s) URL: a third-party
 * page that loads `https://coordinator/sdk.js` or `/embed.js` talks to that coordinator, not to itself. A bundled
 * copy of the SDK has the page's origin there anyway; `pageOrigin` serves where the module URL has no origin.
 */
export function defaultCoordinator(moduleUrl: string, pageOrigin: string | undefined): string {
  let origin = '';
  try {
    const url = new URL(moduleUrl);
    if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
  } catch {
    // Not a URL (cannot happen for import.meta.url in a browser): fall back to the page.
  }
  if (origin !== '') return coordinatorBase(origin, 'the SDK module URL');
  if (!pageOrigin || pageOrigin === 'null') {
    throw new TypeError(`Cannot connect as no coordinator URL was given and neither the SDK nor the page has an origin: current values are ${moduleUrl} and ${String(pageOrigin)}`);
  }
  return coordinatorBase(pageOrigin, 'location.origin');
}

/** Resolves a model URL as the client gave it against the coordinator in use, never against the page. */
export function resolveModelUrl(url: string, coordinator: string): string {
  return new URL(url, `${coordinator.replace(/\/+$/, '')}/`).href;
}
