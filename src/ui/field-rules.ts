/** Validation of the number fields of the PWA: a field's raw text either parses within its range or names why not. */

/** What a number field accepts. */
export interface FieldRule {
  /** The field's name as the user sees it, e.g. "Images". */
  label: string;
  min: number;
  max: number;
  /** Whole numbers only (default true). */
  integer?: boolean;
}

/** A field's raw text checked against its rule: the value when valid, else the message to show. */
export type FieldCheck = { ok: true; value: number } | { ok: false; message: string };

/** "1 to 256" or "0 to 1", with thousands separators. */
export function rangeText(rule: FieldRule): string {
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 6 });
  return `${f(rule.min)} to ${f(rule.max)}`;
}

/**
 * Checks the raw text of a field. Out-of-range and malformed values are never clamped: the message names the
 * field, the allowed range and what was typed, e.g. "Images must be a whole number from 1 to 256: 0 is too small".
 */
export function checkField(raw: string, rule: FieldRule): FieldCheck {
  const integer = rule.integer ?? true;
  const kind = integer ? 'a whole number' : 'a number';
  const expect = `${rule.label} must be ${kind} from ${rangeText(rule)}`;
  const text = raw.trim();
  if (text === '') return { ok: false, message: `${expect}: the field is empty` };
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, message: `${expect}: "${text}" is not a number` };
  if (integer && !Number.isInteger(value)) return { ok: false, message: `${expect}: ${text} is not whole` };
  if (value < rule.min) return { ok: false, message: `${expect}: ${text} is too small` };
  if (value > rule.max) return { ok: false, message: `${expect}: ${text} is too large` };
  return { ok: true, value };
}
