/** Why the server refused or cut a connection; each reason is one metrics label. */

/** Every refusal reason, in the order they can happen to a connection. */
export const REFUSAL_REASONS = [
  'global-cap',
  'address-cap',
  'no-descriptors',
  'header-timeout',
  'too-large',
  'bad-request',
  'write-timeout',
  'slow-reader',
] as const;

/** One refusal reason: caps and descriptor exhaustion at accept, then HTTP and WebSocket limits. */
export type RefusalReason = typeof REFUSAL_REASONS[number];

/** Receives each refusal (e.g. to count it). */
export type RefusalSink = (reason: RefusalReason) => void;
