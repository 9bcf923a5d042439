/**
 * The message bus between coordinator instances: fire-and-forget publish of bytes or JSON to a subject, and
 * subscriptions with a handler. No request/response and no delivery guarantee: a message published while a
 * subscriber's connection is down is lost, and both sides drop rather than grow without bound (a publisher's
 * outbound buffer and each subscription's pending queue are capped in messages and bytes; drops are counted
 * and reported through `onError`). Per publisher and subject, messages arrive in the order published.
 */

/** The engines behind `Bus`. */
export type BusEngine = 'nats' | 'postgres';

/** Largest payload any engine accepts (bytes); the PostgreSQL engine splits payloads over its 8000-byte NOTIFY cap. */
export const MAX_BUS_PAYLOAD_BYTES = 256 * 1024;
/** Messages a subscription may hold unhandled before it drops new ones (a slow subscriber's bound)... */
export const DEFAULT_MAX_PENDING = 10_000;
/** ...and the bytes of those messages. */
export const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** Bytes a publisher may have handed to its engine and not yet seen written before `publish` refuses more. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;

/** Subjects: dot-separated words of letters, digits, '_' and '-' (no wildcards), at most 128 characters. */
export const SUBJECT = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** One message as a subscriber sees it. */
export interface BusMessage {
  readonly subject: string;
  /** Payload length in bytes. */
  readonly size: number;
  /** The payload as bytes. */
  bytes(): Uint8Array;
  /** The payload decoded as UTF-8. */
  text(): string;
  /** The payload parsed as JSON (throws SyntaxError when it is not). */
  json<T = unknown>(): T;
}

/** A subscription's handler; a returned promise holds later messages of that subscription until it settles. */
export type BusHandler = (msg: BusMessage) => void | Promise<void>;

/** Bounds of one subscription's queue of unhandled messages. */
export interface SubscribeOptions {
  maxPending?: number;
  maxPendingBytes?: number;
}

/** A live subscription. */
export interface BusSubscription {
  readonly subject: string;
  /** Messages dropped because this subscription's queue was full. */
  readonly dropped: number;
  /** Stops delivery; messages still queued are discarded. */
  unsubscribe(): Promise<void>;
}

/** What went wrong, for metrics: a publish the engine failed, one refused as the outbound buffer was full, a
 * message dropped by a full subscription, a payload that could not be decoded, a handler that threw. */
export type BusErrorKind = 'publish' | 'outbound-full' | 'subscriber-full' | 'decode' | 'handler' | 'connection';

/** Counters of one bus connection. */
export interface BusStats {
  published: number;
  delivered: number;
  dropped: number;
  errors: number;
}

/** Options common to both engines. */
export interface BusOptions {
  /** Connection name shown by the server (NATS client name, PostgreSQL application_name). */
  name?: string;
  maxOutboundBytes?: number;
  /** Told of every error and drop; must not throw. */
  onError?: (kind: BusErrorKind, detail: string) => void;
}

/** A connection to the bus. */
export interface Bus {
  readonly engine: BusEngine;
  /** Largest payload `publish` accepts, in bytes. */
  readonly maxPayloadBytes: number;
  /**
   * Publishes `data` (a string is sent as UTF-8). Returns false when the message was dropped because the
   * outbound buffer is full or the bus is closed; throws RangeError when it exceeds `maxPayloadBytes` and
   * TypeError for an invalid subject.
   */
  publish(subject: string, data: Uint8Array | string): boolean;
  /** Publishes `JSON.stringify(value)`; as `publish`. */
  publishJson(subject: string, value: unknown): boolean;
  /** Subscribes to one subject; resolves once the server has registered the interest. */
  subscribe(subject: string, handler: BusHandler, opts?: SubscribeOptions): Promise<BusSubscription>;
  /** Resolves once everything published so far has reached the server. */
  flush(): Promise<void>;
  /** Counters since the connection opened. */
  stats(): BusStats;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}
