/** Persistent peer identity: one Ed25519 key pair per slot, created on first use and kept in IndexedDB. */
import { generateKeyPair, type Identity, identityFromKeyPair } from '../core/identity.ts';
import { openMeshDb } from './db.ts';

const loaded = new Map<string, Promise<Identity>>();

/**
 * The identity stored in `slot`, generating and persisting a key pair the first time. Two tabs racing on a
 * fresh slot both end with the pair that was stored first.
 */
export function loadIdentity(slot = 'default'): Promise<Identity> {
  if (typeof slot !== 'string' || slot.length === 0 || slot.length > 100) {
    throw new TypeError(`Cannot load an identity as the slot must be a name of 1..100 characters: current value is ${String(slot)}`);
  }
  let identity = loaded.get(slot);
  if (!identity) {
    identity = loadOrCreate(slot);
    loaded.set(slot, identity);
    identity.catch(() => loaded.delete(slot));
  }
  return identity;
}

async function loadOrCreate(slot: string): Promise<Identity> {
  const db = await openMeshDb();
  let pair = await db.get('identity', slot);
  if (!pair) {
    const fresh = await generateKeyPair();
    const tx = db.transaction('identity', 'readwrite');
    // Re-read inside the write transaction so a pair stored by another tab meanwhile wins.
    pair = await tx.store.get(slot);
    if (!pair) {
      await tx.store.put(fresh, slot);
      pair = fresh;
    }
    await tx.done;
  }
  return identityFromKeyPair(pair);
}
