/**
 * The coordinator's own HTTP/1.1 + WebSocket (RFC 6455) server on Deno.listen, replacing Deno.serve and
 * Deno.upgradeWebSocket so that every resource a peer can hold (descriptors, buffered bytes, time) is capped.
 */
export { serve, serveNode, type NetServer, type ServeOptions } from './serve.ts';
export { fairTransportFits, listenNode, type NetConn, NodeConn } from './node-conn.ts';
export { HTTP_DEFAULTS, type HttpLimits, type ServeHandler, type ServeInfo } from './http1.ts';
export { type AcceptSource, LISTENER_DEFAULTS, type ListenerLimits, type NetLog } from './listener.ts';
export { upgradeWebSocket, type UpgradeOptions, type WebSocketUpgrade } from './upgrade.ts';
export { ServerWebSocket, setSocketLimits } from './websocket.ts';
export { type WebSocketLimits, WS_DEFAULTS } from './ws-limits.ts';
export { REFUSAL_REASONS, type RefusalReason, type RefusalSink } from './refusals.ts';
export { type FdLimit, raiseFdLimit } from './rlimit.ts';
