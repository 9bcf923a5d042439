/** WebSocket limits: their defaults and validation, shared by upgradeWebSocket() options and live sockets. */

/** Limits of one server WebSocket; each can be changed on the live socket. */
export interface WebSocketLimits {
  /** Largest message (all fragments together) accepted; a frame declaring more is refused from its header with 1009. */
  maxMessageBytes: number;
  /** Most bytes queued for sending; a send beyond it closes the socket with 1008 'slow reader'. */
  maxBufferedBytes: number;
  /** After this long without receiving anything, ping; after as long again, drop the connection (0: never). */
  idleTimeoutMs: number;
  /** After sending a close frame, how long the peer has to answer before the TCP connection is destroyed. */
  closeTimeoutMs: number;
}

/** Defaults of every WebSocket limit. */
export const WS_DEFAULTS: Readonly<WebSocketLimits> = {
  maxMessageBytes: 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 120_000,
  closeTimeoutMs: 3000,
};

const MINIMUM: Record<keyof WebSocketLimits, number> = { maxMessageBytes: 0, maxBufferedBytes: 1, idleTimeoutMs: 0, closeTimeoutMs: 1 };

/** Validates and fills in limits; throws RangeError naming the bad one. */
export function checkLimits(over: Partial<WebSocketLimits>, base: Readonly<WebSocketLimits> = WS_DEFAULTS): WebSocketLimits {
  const out = { ...base };
  for (const key of Object.keys(MINIMUM) as (keyof WebSocketLimits)[]) {
    const v = over[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < MINIMUM[key]) {
      throw new RangeError(`Cannot set '${key}' as it must be an integer >= ${MINIMUM[key]}: current value is ${v}`);
    }
    out[key] = v;
  }
  return out;
}
