/**
 * The adapter between valibot schemas and the protocol's parsers: `parser(schema)` returns a function that
 * returns the typed value or throws a ValidationError built from valibot's first issue (parsing aborts early,
 * so a bad frame costs no more than its first fault). valibot has no dependencies and ships plain ESM, so the
 * schemas run unchanged in the browser bundle, in module workers and in Deno (via node_modules).
 */
import * as v from 'valibot';

/** Thrown when input does not match its schema; `path` names the field, e.g. `job.shards[3].inputs[0].dims[1]`. */
export class ValidationError extends TypeError {
  override name = 'ValidationError';
  readonly path: string;
  constructor(path: string, expected: string, value: unknown) {
    super(`Cannot accept '${path || '(root)'}': expected ${expected}, current value is ${describeValue(value)}`);
    this.path = path;
  }
}

/** A parser from unknown input to T; `path`, when given, prefixes the field path in error messages. */
export type Parser<T> = (value: unknown, path?: string) => T;

const ABORT_EARLY = { abortEarly: true } as const;

/** The parser of a valibot schema: the typed output, or a ValidationError for the first issue. */
/* @__NO_SIDE_EFFECTS__ */
export function parser<S extends v.GenericSchema<unknown, unknown>>(schema: S): Parser<v.InferOutput<S>> {
  return (value, path = '') => {
    const result = v.safeParse(schema, value, ABORT_EARLY);
    if (result.success) return result.output;
    throw validationError(result.issues[0], path);
  };
}

// The first issue's path, expectation and offending value, the path under `prefix`.
function validationError(issue: v.BaseIssue<unknown>, prefix = ''): ValidationError {
  let path = prefix;
  for (const item of issue.path ?? []) path += pathStep(item.key, path === '');
  const last = issue.path?.at(-1);
  return new ValidationError(path, expectedOf(issue), last ? last.value : issue.input);
}

/** Describes a value briefly for an error message: strings quoted and cut to 60 characters, objects by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(cut(value));
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `binary data of ${value.byteLength} bytes`;
  return 'an object';
}

/** Parses JSON text of at most `maxChars` characters, turning syntax errors into ValidationError. */
export function parseJson(text: string, maxChars = 1 << 20): unknown {
  if (text.length > maxChars) throw new ValidationError('', `at most ${maxChars} characters of JSON`, text);
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('', 'valid JSON', text);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]{0,59}$/;

// Keys come from the sender: anything but a short identifier is quoted and cut, so a path stays one bounded line.
function pathStep(key: unknown, first: boolean): string {
  if (typeof key === 'number') return `[${key}]`;
  const text = String(key);
  if (IDENTIFIER.test(text)) return first ? text : `.${text}`;
  return `[${JSON.stringify(cut(text))}]`;
}

function cut(text: string): string {
  return text.length > 60 ? text.slice(0, 60) + '...' : text;
}

// valibot writes a union of literals as `("a" | "b")`, nested for a variant of variants (`(("a" | "b") | "c")`);
// the protocol's messages say `one of a, b, c`.
function oneOf(expected: string | null): string {
  const list = (expected ?? '').match(/"(?:[^"\\]|\\.)*"|[^\s|()]+/g) ?? [];
  return `one of ${list.map((x) => (x.startsWith('"') ? JSON.parse(x) : x)).join(', ')}`;
}

/** What the schema or action that raised `issue` expected, in the protocol's words. */
function expectedOf(issue: v.BaseIssue<unknown>): string {
  const req = issue.requirement;
  const noun = typeof issue.input === 'string' ? 'a string of' : 'an array of';
  const unit = typeof issue.input === 'string' ? 'characters' : 'items';
  switch (issue.type) {
    case 'string':
      return 'a string';
    case 'number':
    case 'finite':
      return 'a finite number';
    case 'safe_integer':
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'a boolean';
    case 'array':
      return 'an array';
    case 'strict_tuple':
      return issue.expected === 'never' ? 'no further item' : 'an array';
    case 'object':
    case 'strict_object':
      if (issue.expected === 'never') return 'no such field';
      return issue.path?.at(-1)?.origin === 'key' ? 'a value (the field is required)' : 'an object';
    case 'literal':
      return issue.expected ?? 'a literal';
    case 'picklist':
    case 'variant':
      return issue.expected === 'Object' ? 'an object' : oneOf(issue.expected);
    case 'min_length':
      if (req === 1) return typeof issue.input === 'string' ? 'a non-empty string' : 'a non-empty array';
      return `${noun} at least ${String(req)} ${unit}`;
    case 'max_length':
      return `${noun} at most ${String(req)} ${unit}`;
    case 'min_value':
      return `a number of at least ${String(req)}`;
    case 'max_value':
      return `a number of at most ${String(req)}`;
    case 'regex':
      return `a string matching ${String(req)}`;
    case 'check':
    case 'custom':
      return issue.message;
    default:
      return issue.expected ?? issue.message;
  }
}
