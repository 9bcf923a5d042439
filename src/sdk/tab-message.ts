/**
 * Messages the tabs of one browser profile exchange on a BroadcastChannel about who holds an identity's mesh
 * session (session-lock.ts). The channel only reaches same-origin pages, but any script of the origin may post
 * on it, so every message is checked here and none of them can take a session over: only stealing the Web Lock
 * does that. A message merely tells a tab that a holder released the session, or asked for it.
 */

/** Version of the tab messages; others are ignored. */
export const TAB_MESSAGE_VERSION = 1;

/** A tab's random id: 32 lower-case hex digits. */
const TAB_ID = /^[0-9a-f]{32}$/;

/** 'takeover': tab `tab` is taking the session of `slot`; 'released': tab `tab` closed its session of `slot`. */
export interface TabMessage {
  v: typeof TAB_MESSAGE_VERSION;
  type: 'takeover' | 'released';
  slot: string;
  tab: string;
}

/** A fresh random tab id. */
export function newTabId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The message in `data` when it is a well-formed tab message about `slot`; undefined for anything else. */
export function parseTabMessage(data: unknown, slot: string): TabMessage | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const m = data as Record<string, unknown>;
  if (Object.keys(m).length !== 4) return undefined;
  if (m['v'] !== TAB_MESSAGE_VERSION) return undefined;
  if (m['type'] !== 'takeover' && m['type'] !== 'released') return undefined;
  if (m['slot'] !== slot) return undefined;
  if (typeof m['tab'] !== 'string' || !TAB_ID.test(m['tab'])) return undefined;
  return { v: TAB_MESSAGE_VERSION, type: m['type'], slot, tab: m['tab'] };
}
