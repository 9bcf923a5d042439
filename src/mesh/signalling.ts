/**
 * Signalling through the coordinator's PeerJS-protocol endpoint with the stock `peerjs` client. The peer id is
 * the identity's keyed id and the token proves the key over a one-time nonce, so nobody else can take the id,
 * not even with a token read off an earlier connection. Reconnecting and moving to another coordinator are in
 * signalling-keeper.ts.
 */
import { Peer, type PeerError } from 'peerjs';
import { type Identity, signallingToken } from '../core/identity.ts';
import { MeshError } from '../protocol/errors.ts';
import { fetchSignallingNonce, type MeshConfig, peerOptions } from './config.ts';

/** PeerJS error types after which the Peer cannot be used again. */
const FATAL = new Set(['browser-incompatible', 'invalid-id', 'invalid-key', 'ssl-unavailable', 'server-error', 'socket-error', 'socket-closed', 'unavailable-id']);

/** Whether a peerjs error type ends the Peer (as opposed to one connection or one dial). */
export function isFatalPeerError(type: string): boolean {
  return FATAL.has(type);
}

/** Creates a Peer for this identity (its connections use `rtc`) and resolves once the signalling server accepted it. */
export async function openSignalling(base: string | URL, identity: Identity, config: MeshConfig, timeoutMs = 15_000, rtc?: RTCConfiguration): Promise<Peer> {
  const nonce = await fetchSignallingNonce(base, config, identity.peerId);
  const peer = new Peer(identity.peerId, peerOptions(base, config, await signallingToken(identity, nonce), rtc));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      peer.destroy();
      reject(new MeshError('transfer-failed', `Cannot open signalling at ${String(base)}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onOpen = () => {
      cleanup();
      resolve();
    };
    const onError = (err: PeerError<string>) => {
      if (!isFatalPeerError(err.type)) return;
      cleanup();
      peer.destroy();
      const code = err.type === 'unavailable-id' ? 'conflict' : 'unauthorized';
      reject(new MeshError(err.type === 'network' ? 'transfer-failed' : code, `Cannot open signalling as ${identity.peerId}: ${err.type}: ${err.message}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      peer.off('open', onOpen);
      peer.off('error', onError);
    };
    peer.on('open', onOpen);
    peer.on('error', onError);
  });
  return peer;
}
