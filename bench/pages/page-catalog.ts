// The model catalog the coordinator serves at /models/index.json, as the bench pages read it.

/** A catalog entry, the fields the benches use. */
export interface ModelEntry {
  id: string;
  url: string;
  hash: string;
  input: { name: string };
  outputs: string[];
}

/** Every entry of the catalog. */
export async function catalog(): Promise<ModelEntry[]> {
  return (await (await fetch('/models/index.json')).json()) as ModelEntry[];
}

/** The catalog's entry `id`; when it has none, throws "Cannot <purpose> as ...". */
export async function catalogModel(id: string, purpose: string): Promise<ModelEntry> {
  const models = await catalog();
  const model = models.find((m) => m.id === id);
  if (!model) throw new Error(`Cannot ${purpose} as /models/index.json has no ${id}: ids are ${models.map((m) => m.id).join(', ')}`);
  return model;
}
