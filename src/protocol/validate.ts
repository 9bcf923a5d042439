/**
 * Minimal schema combinators: each returns a parser that either returns the typed value or throws a
 * ValidationError naming the field path and the offending value. No dependencies, so it runs in browser,
 * worker and Deno alike.
 */

/** Thrown when input does not match its schema; `path` names the field. */
export class ValidationError extends TypeError {
  override name = 'ValidationError';
  readonly path: string;
  constructor(path: string, expected: string, value: unknown) {
    super(`Cannot accept '${path || '(root)'}': expected ${expected}, current value is ${describe(value)}`);
    this.path = path;
  }
}

/** A parser from unknown input to T; `path` is used in error messages. */
export type Parser<T> = (value: unknown, path?: string) => T;
/** The type a parser produces. */
export type Infer<P> = P extends Parser<infer T> ? T : never;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '...' : value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `binary data of ${value.byteLength} bytes`;
  return 'an object';
}

/** A string, optionally bounded in length and matched against a pattern. */
export function str(opts: { min?: number; max?: number; pattern?: RegExp } = {}): Parser<string> {
  const { min = 0, max = 65536, pattern } = opts;
  return (v, p = '') => {
    if (typeof v !== 'string') throw new ValidationError(p, 'a string', v);
    if (v.length < min || v.length > max) throw new ValidationError(p, `a string of ${min}..${max} characters`, v);
    if (pattern && !pattern.test(v)) throw new ValidationError(p, `a string matching ${pattern}`, v);
    return v;
  };
}

/** A finite number, optionally an integer and bounded. */
export function num(opts: { int?: boolean; min?: number; max?: number } = {}): Parser<number> {
  const { int = false, min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = opts;
  return (v, p = '') => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(p, 'a finite number', v);
    if (int && !Number.isSafeInteger(v)) throw new ValidationError(p, 'an integer', v);
    if (v < min || v > max) throw new ValidationError(p, `a number in [${min}, ${max}]`, v);
    return v;
  };
}

/** A boolean. */
export function bool(): Parser<boolean> {
  return (v, p = '') => {
    if (typeof v !== 'boolean') throw new ValidationError(p, 'a boolean', v);
    return v;
  };
}

/** One of the given literal values. */
export function oneOf<const T extends readonly (string | number)[]>(...values: T): Parser<T[number]> {
  return (v, p = '') => {
    if (!values.includes(v as T[number])) throw new ValidationError(p, `one of ${values.join(', ')}`, v);
    return v as T[number];
  };
}

/** An array of items, bounded in length. */
export function arr<T>(item: Parser<T>, opts: { min?: number; max?: number } = {}): Parser<T[]> {
  const { min = 0, max = 100_000 } = opts;
  return (v, p = '') => {
    if (!Array.isArray(v)) throw new ValidationError(p, 'an array', v);
    if (v.length < min || v.length > max) throw new ValidationError(p, `an array of ${min}..${max} items`, v);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };
}

/** A tuple of fixed length. */
export function tuple<const T extends readonly Parser<unknown>[]>(...items: T): Parser<{ [K in keyof T]: Infer<T[K]> }> {
  return (v, p = '') => {
    if (!Array.isArray(v) || v.length !== items.length) throw new ValidationError(p, `an array of ${items.length} items`, v);
    return items.map((parse, i) => parse(v[i], `${p}[${i}]`)) as { [K in keyof T]: Infer<T[K]> };
  };
}

/** Marks a field optional: absent (undefined) passes through. */
export function opt<T>(parse: Parser<T>): Parser<T | undefined> & { optional: true } {
  const f = ((v: unknown, p = '') => (v === undefined ? undefined : parse(v, p))) as Parser<T | undefined> & {
    optional: true;
  };
  f.optional = true;
  return f;
}

/** Either of several parsers (the first that accepts wins). */
export function union<T extends readonly Parser<unknown>[]>(...parsers: T): Parser<Infer<T[number]>> {
  return (v, p = '') => {
    const errors: string[] = [];
    for (const parse of parsers) {
      try {
        return parse(v, p) as Infer<T[number]>;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        errors.push(err.message);
      }
    }
    throw new ValidationError(p, `one of several shapes (${errors.join('; ')})`, v);
  };
}

type Shape = Record<string, Parser<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type ObjOf<S extends Shape> =
  & { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> }
  & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> };

/** A plain object with exactly the given fields; unknown fields are rejected so typos surface. */
export function obj<S extends Shape>(shape: S): Parser<{ [K in keyof ObjOf<S>]: ObjOf<S>[K] }> {
  return (v, p = '') => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(p, 'an object', v);
    const out: Record<string, unknown> = {};
    const input = v as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      if (!(key in shape)) throw new ValidationError(p ? `${p}.${key}` : key, 'no such field', input[key]);
    }
    for (const [key, parse] of Object.entries(shape)) {
      const parsed = parse(input[key], p ? `${p}.${key}` : key);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as { [K in keyof ObjOf<S>]: ObjOf<S>[K] };
  };
}

/** A tagged union on `key` (default `type`): picks the member parser by the tag so errors name the right fields. */
export function tagged<M extends Record<string, Parser<unknown>>>(members: M, key = 'type'): Parser<Infer<M[keyof M]>> {
  return (v, p = '') => {
    const tag = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
    if (typeof tag !== 'string' || !Object.hasOwn(members, tag)) {
      throw new ValidationError(p ? `${p}.${key}` : key, `one of ${Object.keys(members).join(', ')}`, tag);
    }
    return members[tag]!(v, p) as Infer<M[keyof M]>;
  };
}

/** A literal value (used for `type` tags). */
export function lit<const T extends string | number | boolean>(value: T): Parser<T> {
  return (v, p = '') => {
    if (v !== value) throw new ValidationError(p, JSON.stringify(value), v);
    return value;
  };
}

/** Parses JSON text, turning syntax errors into ValidationError. */
export function parseJson(text: string, maxBytes = 1 << 20): unknown {
  if (text.length > maxBytes) throw new ValidationError('', `at most ${maxBytes} characters of JSON`, text);
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('', 'valid JSON', text);
  }
}
