/**
 * Where `ep: 'auto'` choices live: a Map in the worker in front of a small IndexedDB store of its own
 * ('meshwork-ep-choice', apart from src/storage's database, which workers may not import), so a restarted
 * worker or a new pool reuses a choice instead of measuring again. Keys come from epChoiceKey(). A store
 * that fails (no IndexedDB, private mode, quota) degrades to memory only, with one warning.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type EpChoice, PROBE_VERSION } from './ep-policy.ts';

/** The IndexedDB database of EP choices. */
export const EP_CHOICE_DB = 'meshwork-ep-choice';
/** Its object store, keyed by `EpChoice.key`. */
export const EP_CHOICE_STORE = 'choices';

interface EpChoiceSchema extends DBSchema {
  choices: { key: string; value: EpChoice };
}

/** A persistent home for choices. */
export interface EpChoiceStore {
  get(key: string): Promise<EpChoice | undefined>;
  put(choice: EpChoice): Promise<void>;
}

/** Choices in IndexedDB; the database opens on first use. */
export class IdbEpChoiceStore implements EpChoiceStore {
  #db: Promise<IDBPDatabase<EpChoiceSchema>> | undefined;

  #open(): Promise<IDBPDatabase<EpChoiceSchema>> {
    this.#db ??= openDB<EpChoiceSchema>(EP_CHOICE_DB, 1, {
      upgrade(db) {
        db.createObjectStore(EP_CHOICE_STORE, { keyPath: 'key' });
      },
    });
    this.#db.catch(() => (this.#db = undefined));
    return this.#db;
  }

  async get(key: string): Promise<EpChoice | undefined> {
    return (await this.#open()).get(EP_CHOICE_STORE, key);
  }

  async put(choice: EpChoice): Promise<void> {
    await (await this.#open()).put(EP_CHOICE_STORE, choice);
  }

  /** Every stored choice (for a page showing what runs where). */
  async list(): Promise<EpChoice[]> {
    return (await this.#open()).getAll(EP_CHOICE_STORE);
  }
}

/** Choices in a Map (tests; contexts without IndexedDB). */
export class MemoryEpChoiceStore implements EpChoiceStore {
  readonly map = new Map<string, EpChoice>();

  async get(key: string): Promise<EpChoice | undefined> {
    return this.map.get(key);
  }

  async put(choice: EpChoice): Promise<void> {
    this.map.set(choice.key, choice);
  }
}

/** Where a looked-up choice came from. */
export type ChoiceSource = 'memory' | 'store';

/** The worker's choices: memory first, then the persistent store. */
export class EpChoices {
  readonly #memory = new Map<string, EpChoice>();
  readonly #store: EpChoiceStore | undefined;
  #warned = false;

  /** Default store: IndexedDB where the context has it, else none (memory only). */
  constructor(store: EpChoiceStore | null = globalThis.indexedDB ? new IdbEpChoiceStore() : null) {
    this.#store = store ?? undefined;
  }

  /** The choice under `key` and where it was found; records of another probe version or shape are ignored. */
  async lookup(key: string): Promise<{ choice: EpChoice; source: ChoiceSource } | undefined> {
    const hit = this.#memory.get(key);
    if (hit) return { choice: hit, source: 'memory' };
    let stored: EpChoice | undefined;
    try {
      stored = await this.#store?.get(key);
    } catch (err) {
      this.#warn('read', err);
    }
    if (!isEpChoice(stored, key)) return undefined;
    this.#memory.set(key, stored);
    return { choice: stored, source: 'store' };
  }

  /** Keeps `choice` in memory and, best effort, in the store. */
  async record(choice: EpChoice): Promise<void> {
    this.#memory.set(choice.key, choice);
    try {
      await this.#store?.put(choice);
    } catch (err) {
      this.#warn('write', err);
    }
  }

  /** Forgets every choice held in memory (the store keeps them). */
  clearMemory(): void {
    this.#memory.clear();
  }

  #warn(what: string, err: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    console.warn(`meshwork: cannot ${what} EP choices in IndexedDB (${(err as Error)?.message ?? String(err)}); keeping them in memory only`);
  }
}

/** Whether a stored value is a choice for `key` made by this probe version. */
export function isEpChoice(value: unknown, key: string): value is EpChoice {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<EpChoice>;
  return v.key === key && (v.ep === 'wasm' || v.ep === 'webgpu') && v.probeVersion === PROBE_VERSION
    && typeof v.wasmMs === 'number' && typeof v.reason === 'string';
}
