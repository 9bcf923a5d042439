/** A PeerJS-protocol test client speaking the same frames as the stock `peerjs` client. */
import { WsInbox } from './ws-inbox.ts';
import { type Identity, signallingToken } from '../../src/core/identity.ts';

/** A server frame on the signalling socket. */
export interface Signal {
  type: string;
  src?: string;
  dst?: string;
  payload?: { msg?: string; code?: string; [k: string]: unknown };
}

/** Opens the signalling socket `{base}/peerjs/peerjs?key=&id=&token=&version=` like peerjs 1.5.5 does. */
export function openSignal(baseUrl: string, id: string, token: string, key = 'peerjs'): WsInbox<Signal> {
  const ws = baseUrl.replace(/^http/, 'ws') + `/peerjs/peerjs?key=${key}&id=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}&version=1.5.5`;
  return new WsInbox<Signal>(new WebSocket(ws));
}

/** A one-time token for a keyed id: asks the coordinator for a nonce and signs it, as the SDK does. */
export async function keyedToken(baseUrl: string, identity: Identity): Promise<string> {
  const res = await fetch(`${baseUrl}/peerjs/peerjs/challenge?id=${identity.peerId}`);
  const { nonce } = await res.json() as { nonce: string };
  return signallingToken(identity, nonce);
}
