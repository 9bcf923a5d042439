/**
 * Field schemas the wire schemas share, each a plain valibot pipe. Folder-private: the public schemas are the
 * frames and specs built from them.
 */
import * as v from 'valibot';

/** A safe integer in [min, max]: NaN, Infinity (JSON's 1e400), fractions and integers past 2^53 fail. */
export const int = /* @__NO_SIDE_EFFECTS__ */ (min: number, max: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));

/** A finite number in [min, max]. */
export const real = /* @__NO_SIDE_EFFECTS__ */ (min: number, max: number) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));

/** A string of min..max UTF-16 code units. */
export const text = /* @__NO_SIDE_EFFECTS__ */ (min: number, max: number) => v.pipe(v.string(), v.minLength(min), v.maxLength(max));

/** Ids chosen by clients and the coordinator (jobs, leases, nonces): 1..64 URL-safe characters. */
export const IdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64), v.regex(/^[A-Za-z0-9_-]+$/));

/**
 * An array of min..max items. The length is checked before any item is parsed, so an oversized array in a
 * frame costs one comparison, not a parse of every item.
 */
export const list = /* @__NO_SIDE_EFFECTS__ */ <S extends v.GenericSchema>(item: S, min: number, max: number) =>
  v.pipe(
    v.custom<unknown[]>((x) => Array.isArray(x) && x.length >= min && x.length <= max, `an array of ${min}..${max} items`),
    v.array(item),
  );
