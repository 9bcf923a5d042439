/**
 * What the coordinator says about prices: the fee rate (`/api/config`) and the asks of active contributors
 * (`/api/asks`, aggregates only). Read-only, validated, and bounded by a timeout; undefined when unreachable.
 */

/** Prices on offer now, micro-credits per work unit. */
export interface MarketQuote {
  feeRate: number;
  active: number;
  lowest: number | undefined;
  median: number | undefined;
}

const TIMEOUT_MS = 5000;

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

async function getJson(url: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal, cache: 'no-store' });
  if (!res.ok) throw new Error(`Cannot read ${url}: HTTP ${res.status}`);
  const body: unknown = await res.json();
  if (typeof body !== 'object' || body === null) throw new TypeError(`Cannot read ${url} as it is not a JSON object`);
  return body as Record<string, unknown>;
}

/** Reads the quote from the coordinator at `base`; undefined if it cannot be read or makes no sense. */
export async function loadQuote(base: string): Promise<MarketQuote | undefined> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  try {
    const [config, asks] = await Promise.all([getJson(`${base}/api/config`, signal), getJson(`${base}/api/asks`, signal)]);
    const feeRate = config['feeRate'];
    const active = count(asks['active']);
    if (typeof feeRate !== 'number' || !(feeRate >= 0 && feeRate <= 1) || active === undefined) return undefined;
    return { feeRate, active, lowest: count(asks['lowest']), median: count(asks['median']) };
  } catch {
    return undefined;
  }
}
