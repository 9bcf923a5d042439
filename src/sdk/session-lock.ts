/**
 * One mesh session per identity per browser profile. Tabs of one origin share the identity (IndexedDB), and the
 * coordinator keeps one session per peer id: two tabs that both connect evict each other over and over. So a
 * session holds the Web Lock `meshwork.session:<slot>` for its whole life; `connect()` in a second tab fails
 * with SessionElsewhereError ("open in another tab") unless it asks to take over, which steals the lock: the
 * Lock Manager itself tells the holder (its lock request rejects), the holder closes its session and says so on
 * a BroadcastChannel, and only then does the new tab connect, so the two never overlap on the coordinator.
 * Channel messages are validated (tab-message.ts) and can only hurry a waiting tab along; nothing posted on the
 * channel ends a session. Where Web Locks are missing (insecure contexts) tabs cannot coordinate, as before.
 */
import { MeshError } from '../protocol/errors.ts';
import { newTabId, parseTabMessage, TAB_MESSAGE_VERSION, type TabMessage } from './tab-message.ts';

/** `connect()` failed, or a session ended, because another tab of this browser holds the identity's session. */
export class SessionElsewhereError extends MeshError {
  override name = 'SessionElsewhereError';
  constructor(message: string) {
    super('conflict', message);
  }
}

/** Milliseconds a takeover waits for the old holder to say it closed its session. */
const RELEASE_WAIT_MS = 3_000;
/** This tab's id on the channel. */
const TAB = newTabId();

/** A held session lock. */
export interface SessionHold {
  /** Resolves when another tab took the session over (never when released here). */
  readonly lost: Promise<void>;
  /** Releases the lock and tells the other tabs. */
  release(): void;
}

const lockName = (slot: string): string => `meshwork.session:${slot}`;

function lockManager(): LockManager | undefined {
  return (globalThis.navigator as Navigator | undefined)?.locks;
}

/** Requests the lock with `options`; resolves with the hold, or undefined when `ifAvailable` found it taken. */
function request(locks: LockManager, name: string, options: LockOptions): Promise<{ lost: Promise<void>; unlock: () => void } | undefined> {
  return new Promise((resolve, reject) => {
    let unlock!: () => void;
    const held = new Promise<void>((r) => (unlock = r));
    let onLost!: () => void;
    const lost = new Promise<void>((r) => (onLost = r));
    let granted = false;
    locks
      .request(name, options, (lock) => {
        if (lock === null) return resolve(undefined);
        granted = true;
        resolve({ lost, unlock });
        return held;
      })
      // Rejects when another tab steals the lock (AbortError), or when the request itself failed.
      .then(() => undefined, (err: unknown) => (granted ? onLost() : reject(err)));
  });
}

function post(channel: BroadcastChannel | undefined, slot: string, type: TabMessage['type']): void {
  const message: TabMessage = { v: TAB_MESSAGE_VERSION, type, slot, tab: TAB };
  try {
    channel?.postMessage(message);
  } catch {
    // A closed channel: nobody to tell.
  }
}

/** Resolves once another tab says it released `slot`, or after `ms`. */
function released(channel: BroadcastChannel | undefined, slot: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      channel?.removeEventListener('message', onMessage);
      resolve();
    };
    const onMessage = (e: MessageEvent): void => {
      const m = parseTabMessage(e.data, slot);
      if (m?.type === 'released' && m.tab !== TAB) done();
    };
    const timer = setTimeout(done, ms);
    channel?.addEventListener('message', onMessage);
  });
}

/**
 * Takes the session lock of identity `slot`. Without `takeover`, rejects with SessionElsewhereError when another
 * tab holds it; with `takeover`, steals it and waits (up to 3 s) until the holder closed its session.
 */
export async function holdSession(slot: string, takeover: boolean): Promise<SessionHold> {
  const locks = lockManager();
  if (locks === undefined) return { lost: new Promise(() => {}), release() {} };
  const name = lockName(slot);
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
  try {
    let hold: { lost: Promise<void>; unlock: () => void } | undefined;
    if (takeover) {
      const busy = ((await locks.query()).held ?? []).some((l) => l.name === name);
      const gone = busy ? released(channel, slot, RELEASE_WAIT_MS) : Promise.resolve();
      post(channel, slot, 'takeover');
      hold = await request(locks, name, { steal: true });
      await gone;
    } else {
      hold = await request(locks, name, { ifAvailable: true });
    }
    if (hold === undefined) {
      throw new SessionElsewhereError(`Cannot connect as identity '${slot}' is in use: Meshwork is open in another tab of this browser`);
    }
    const { lost, unlock } = hold;
    let done = false;
    return {
      lost,
      release() {
        if (done) return;
        done = true;
        unlock();
        post(channel, slot, 'released');
        channel?.close();
      },
    };
  } catch (err) {
    channel?.close();
    throw err;
  }
}

/** Resolves when no tab holds the session of `slot` (at once if none does); rejects if `signal` aborts. */
export function sessionFree(slot: string, signal?: AbortSignal): Promise<void> {
  const locks = lockManager();
  if (locks === undefined) return Promise.resolve();
  // Granted once the holder lets go, then released at once: this only waits, it holds nothing.
  return locks.request(lockName(slot), signal === undefined ? {} : { signal }, () => undefined);
}
