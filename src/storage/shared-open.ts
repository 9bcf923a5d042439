/**
 * One open connection per page to an IndexedDB database: opened on first use and shared, closed and forgotten
 * when another tab wants a newer schema (`blocking`: this page reopens on its next use), and forgotten when the
 * open fails, so the next use tries again.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';

/** Returns the page's opener of database `name` at `version`; `upgrade` creates its stores. */
export function sharedOpener<T extends DBSchema>(name: string, version: number, upgrade: (db: IDBPDatabase<T>) => void): () => Promise<IDBPDatabase<T>> {
  let opening: Promise<IDBPDatabase<T>> | undefined;
  return () => {
    opening ??= openDB<T>(name, version, {
      upgrade: (db) => upgrade(db),
      blocking() {
        void opening?.then((db) => db.close());
        opening = undefined;
      },
    }).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
}
