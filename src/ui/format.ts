/** Display formatting shared by the elements. */

/** Micro-credits per credit (mirrors the SDK's MICRO; kept here so this file stays import-free and testable). */
const MICRO = 1_000_000;

/** Micro-credits as credits with up to `digits` decimals and thousands separators, e.g. "1,000.25". */
export function formatCredits(micro: number, digits = 6): string {
  if (!Number.isFinite(micro)) return '—';
  const credits = micro / MICRO;
  return credits.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

/** Milliseconds as "850 ms" or "2.4 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A fraction 0..1 as a percentage with `digits` decimals. */
export function formatPercent(fraction: number, digits = 1): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : '—';
}

/** Bytes as B / KiB / MiB / GiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** A long peer or job id shortened to its head and tail, e.g. "mw3f2a…91c0". */
export function shortId(id: string, head = 6, tail = 4): string {
  return id.length <= head + tail + 1 ? id : `${id.slice(0, head)}…${id.slice(-tail)}`;
}
