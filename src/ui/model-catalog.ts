/** The models a deployment offers, read from /models/index.json (written at build time with each model's hash). */

/** One catalog entry. `input.dims` has -1 for free axes (batch, height, width). */
export interface ModelEntry {
  id: string;
  name: string;
  url: string;
  hash: string;
  bytes: number;
  /** What the model does, e.g. 'text-detection' or 'text-recognition' (absent in older catalogs). */
  task?: string;
  input: { name: string; dims: number[] };
  outputs: string[];
  license?: string;
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks one entry, naming the first field that is wrong. */
export function parseModelEntry(v: unknown, at = 'entry'): ModelEntry {
  const o = (v ?? {}) as Record<string, unknown>;
  const input = (o['input'] ?? {}) as Record<string, unknown>;
  const fail = (field: string, value: unknown): never => {
    throw new TypeError(`Cannot read the model catalog as '${at}.${field}' is malformed: current value is ${JSON.stringify(value)}`);
  };
  if (typeof v !== 'object' || v === null) fail('', v);
  if (!isStr(o['id'])) fail('id', o['id']);
  if (!isStr(o['name'])) fail('name', o['name']);
  if (!isStr(o['url'])) fail('url', o['url']);
  if (typeof o['hash'] !== 'string' || !/^[0-9a-f]{64}$/.test(o['hash'])) fail('hash', o['hash']);
  if (!Number.isInteger(o['bytes']) || (o['bytes'] as number) < 1) fail('bytes', o['bytes']);
  if (!isStr(input['name'])) fail('input.name', input['name']);
  const dims = input['dims'];
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= -1)) fail('input.dims', dims);
  const outputs = o['outputs'];
  if (!Array.isArray(outputs) || outputs.length === 0 || !outputs.every(isStr)) fail('outputs', outputs);
  const entry: ModelEntry = {
    id: o['id'] as string,
    name: o['name'] as string,
    url: o['url'] as string,
    hash: o['hash'] as string,
    bytes: o['bytes'] as number,
    input: { name: input['name'] as string, dims: dims as number[] },
    outputs: outputs as string[],
  };
  if (isStr(o['license'])) entry.license = o['license'];
  if (isStr(o['task'])) entry.task = o['task'];
  return entry;
}

/** Fetches and checks the catalog; model URLs come back absolute (resolved against the catalog's URL). */
export async function loadModelCatalog(base: string | URL = location.href): Promise<ModelEntry[]> {
  const url = new URL('/models/index.json', base);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Cannot load the model catalog as ${url} answered ${res.status} ${res.statusText}`);
  const body: unknown = await res.json();
  if (!Array.isArray(body)) throw new TypeError(`Cannot read the model catalog as it is not a list: current value is ${typeof body}`);
  return body.map((e, i) => {
    const entry = parseModelEntry(e, `[${i}]`);
    return { ...entry, url: new URL(entry.url, url).href };
  });
}
