/**
 * A PeerJS signalling peer for load: a keyed id (a real Ed25519 identity) proven with a one-time token
 * (`keyedToken` of coordinator/testing/signal-client.ts, as the SDK does), the socket URL of peerjs 1.5.5, and
 * every frame handed to one handler. coordinator/testing/signal-client.ts wraps the socket in a test inbox that
 * keeps every frame nobody waited for; at tens of thousands of frames a second that would measure the inbox.
 */
import { keyedToken } from '../../coordinator/testing/signal-client.ts';
import { newIdentity } from '../../coordinator/testing/mesh-client.ts';

/** A frame as the server relays it. */
export interface Relayed {
  type: string;
  src?: string;
  dst?: string;
  payload?: { msg?: string; code?: string; [k: string]: unknown };
}

/** An open signalling session. */
export interface SignalPeer {
  id: string;
  socket: WebSocket;
  /** Sends a frame to `dst`. */
  send(type: string, dst: string, payload: unknown): void;
  /** Replaces the handler of relayed frames. */
  onFrame: (f: Relayed) => void;
  /** ERROR frames received (a refusal, e.g. rate-limited), by code. */
  errors: Record<string, number>;
  close(): Promise<void>;
}

/** Opens a keyed signalling session on `baseUrl` and resolves after OPEN; rejects on anything else first. */
export async function openSignalPeer(baseUrl: string, timeoutMs = 10_000): Promise<SignalPeer> {
  const identity = await newIdentity();
  const token = await keyedToken(baseUrl, identity);
  const url = baseUrl.replace(/^http/, 'ws') + `/peerjs/peerjs?key=peerjs&id=${identity.peerId}&token=${encodeURIComponent(token)}&version=1.5.5`;
  const socket = new WebSocket(url);
  const closed = new Promise<void>((r) => socket.addEventListener('close', () => r(), { once: true }));
  const peer: SignalPeer = {
    id: identity.peerId,
    socket,
    send: (type, dst, payload) => socket.send(JSON.stringify({ type, dst, payload })),
    onFrame: () => {},
    errors: {},
    close: async () => {
      if (socket.readyState < WebSocket.CLOSING) socket.close();
      await closed;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Cannot open signalling at ${baseUrl} as no OPEN came within ${timeoutMs} ms`)), timeoutMs);
    socket.onmessage = (ev) => {
      const f = JSON.parse(ev.data as string) as Relayed;
      clearTimeout(timer);
      if (f.type !== 'OPEN') return reject(new Error(`Cannot open signalling at ${baseUrl}: the server answered ${JSON.stringify(f).slice(0, 200)}`));
      socket.onmessage = (e) => {
        const g = JSON.parse(e.data as string) as Relayed;
        if (g.type === 'ERROR') {
          const code = g.payload?.code ?? String(g.payload?.msg ?? '').slice(0, 60);
          peer.errors[code] = (peer.errors[code] ?? 0) + 1;
          return;
        }
        peer.onFrame(g);
      };
      resolve();
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`Cannot open signalling at ${baseUrl}: the WebSocket failed`));
    };
  });
  return peer;
}

/** A CANDIDATE payload as peerjs sends one (~200 bytes on the wire with type and dst), carrying `n`. */
export function candidate(n: number): Record<string, unknown> {
  return {
    candidate: { candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.7 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0', sdpMid: '0', sdpMLineIndex: 0 },
    type: 'data',
    connectionId: 'dc_bench0123456',
    n,
  };
}
