/**
 * Keeps a watch on the ICE state of one peerjs data connection: when the path of a link that was working
 * fails, the dialing side restarts ICE once (fresh candidates, a fresh TURN allocation with the newest
 * credentials); if the link stays failed or disconnected for too long anyway, it is declared dead so the
 * link closes and its leases fail over (rejected and queued again) instead of waiting out their timeouts.
 *
 * What peerjs (1.5) allows, and what this does about it:
 * - peerjs closes a connection as soon as its ICE state is `failed`. Once a link has connected, this module
 *   keeps that one state from peerjs's handler, so a restart has a chance; before then, peerjs fails the dial
 *   at once as it always did.
 * - peerjs has no renegotiation: an OFFER for a connection it already has replaces the connection. So the
 *   restart offer travels in an ANSWER message (the SDP object inside still says `offer`), which peerjs hands
 *   to the existing connection's `setRemoteDescription`; the other side's watch sees `have-remote-offer` on a
 *   connection that was negotiated before and answers it, again in an ANSWER message. Only the dialing side
 *   restarts, so the two sides never offer at once.
 * - peerjs stops sending candidates once ICE completes; from a restart on, this module sends them itself.
 * - Chromium may leave `iceConnectionState` at `disconnected` for good while `connectionState` turns `failed`
 *   (about 10 s after the path went away): either one failing counts as failed here.
 */
import { MeshError } from '../protocol/errors.ts';

/**
 * How long a link that has connected may stay `disconnected` or `failed` before it is closed (ms): Chromium
 * declares a lost path failed after about 10 s, which leaves the restart about 20 s.
 */
export const ICE_DEAD_MS = 30_000;

/** The parts of an RTCPeerConnection the watch uses (RTCPeerConnection itself in browsers, a fake in tests). */
export type WatchedConnection = Pick<
  RTCPeerConnection,
  | 'iceConnectionState' | 'connectionState' | 'signalingState' | 'currentLocalDescription' | 'restartIce' | 'createOffer' | 'createAnswer'
  | 'setLocalDescription' | 'getConfiguration' | 'setConfiguration' | 'addEventListener' | 'removeEventListener'
  | 'oniceconnectionstatechange' | 'onicecandidate'
>;

/** A signalling message for the other end of this connection (peerjs' `{type, payload}`; `dst` is added by the sender). */
export interface IceSignal {
  type: 'ANSWER' | 'CANDIDATE';
  payload: Record<string, unknown>;
}

/** What `IceWatch` needs besides the connection. */
export interface IceWatchOptions {
  /** This side dialed (created the offer): only the dialer restarts ICE. */
  dialer: boolean;
  /** peerjs' id of the connection, carried by every signalling message about it. */
  connectionId: string;
  /** Sends a message to the other end over signalling; may throw when signalling is down. */
  signal(message: IceSignal): void;
  /** The link is dead: close it with this error. Called at most once. */
  onDead(error: MeshError): void;
  /** The newest ICE configuration (fresh TURN credentials), applied before a restart. */
  configuration?: () => RTCConfiguration | undefined;
  /** Milliseconds a connected link may stay disconnected or failed (default ICE_DEAD_MS). */
  deadMs?: number;
  /** Peer id of the other end, for error messages. */
  remote: string;
}

/** Watches one connection's ICE state; `dispose()` when the link closes. */
export class IceWatch {
  readonly #pc: WatchedConnection;
  readonly #o: IceWatchOptions;
  readonly #deadMs: number;
  #connected = false;
  #restarted = false;
  #forwarding = false;
  #deadTimer: ReturnType<typeof setTimeout> | undefined;
  #done = false;
  /** ICE restarts this side started (tests and diagnostics). */
  restarts = 0;

  constructor(pc: WatchedConnection, options: IceWatchOptions) {
    this.#pc = pc;
    this.#o = options;
    this.#deadMs = options.deadMs ?? ICE_DEAD_MS;
    const inner = pc.oniceconnectionstatechange;
    pc.oniceconnectionstatechange = (ev: Event) => {
      this.#onState();
      // Once connected, 'failed' is ours to handle (peerjs would close the connection on the spot).
      if (pc.iceConnectionState === 'failed' && this.#connected) return;
      inner?.call(pc as RTCPeerConnection, ev);
    };
    pc.addEventListener('connectionstatechange', this.#onConnectionState);
    pc.addEventListener('signalingstatechange', this.#onSignalingState);
    this.#onState();
  }

  /** Stops watching (the link closed). */
  dispose(): void {
    this.#done = true;
    clearTimeout(this.#deadTimer);
    this.#pc.removeEventListener('connectionstatechange', this.#onConnectionState);
    this.#pc.removeEventListener('signalingstatechange', this.#onSignalingState);
    this.#pc.removeEventListener('icecandidate', this.#onCandidate);
  }

  #onState(): void {
    if (this.#done) return;
    const state = pathState(this.#pc);
    if (state === 'connected') {
      this.#connected = true;
      this.#restarted = false;
      clearTimeout(this.#deadTimer);
      this.#deadTimer = undefined;
      return;
    }
    if (!this.#connected || (state !== 'disconnected' && state !== 'failed')) return;
    this.#deadTimer ??= setTimeout(() => this.#die(), this.#deadMs);
    if (state === 'failed' && this.#o.dialer && !this.#restarted) {
      this.#restarted = true;
      this.#restart().catch((err) => this.#die(`its ICE restart failed: ${(err as Error).message}`));
    }
  }

  #die(why?: string): void {
    if (this.#done) return;
    const state = pathState(this.#pc);
    this.dispose();
    this.#o.onDead(new MeshError('transfer-failed', `Cannot keep the link to ${this.#o.remote} as ${why ?? `its ICE state stayed ${state} for ${this.#deadMs} ms`}`));
  }

  async #restart(): Promise<void> {
    this.restarts++;
    const config = this.#o.configuration?.();
    if (config) {
      try {
        this.#pc.setConfiguration({ ...this.#pc.getConfiguration(), ...config });
      } catch {
        // A browser that refuses the change restarts with the servers it has.
      }
    }
    this.#forwardCandidates();
    this.#pc.restartIce();
    const offer = await this.#pc.createOffer();
    if (this.#done) return;
    await this.#pc.setLocalDescription(offer);
    this.#send({ type: 'ANSWER', payload: { sdp: offer, type: 'data', connectionId: this.#o.connectionId } });
  }

  readonly #onConnectionState = (): void => this.#onState();

  /** The other side restarted: a new offer on a connection negotiated before (the first one is peerjs's). */
  readonly #onSignalingState = (): void => {
    if (this.#done || this.#pc.signalingState !== 'have-remote-offer' || this.#pc.currentLocalDescription === null) return;
    this.#forwardCandidates();
    void (async () => {
      const answer = await this.#pc.createAnswer();
      await this.#pc.setLocalDescription(answer);
      this.#send({ type: 'ANSWER', payload: { sdp: answer, type: 'data', connectionId: this.#o.connectionId } });
    })().catch((err) => this.#die(`it could not answer an ICE restart: ${(err as Error).message}`));
  };

  #forwardCandidates(): void {
    if (this.#forwarding) return;
    this.#forwarding = true;
    this.#pc.onicecandidate = null;
    this.#pc.addEventListener('icecandidate', this.#onCandidate);
  }

  readonly #onCandidate = (e: Event): void => {
    const candidate = (e as RTCPeerConnectionIceEvent).candidate;
    if (!candidate?.candidate) return;
    this.#send({ type: 'CANDIDATE', payload: { candidate, type: 'data', connectionId: this.#o.connectionId } });
  };

  #send(message: IceSignal): void {
    if (this.#done) return;
    try {
      this.#o.signal(message);
    } catch {
      // Signalling is down: the dead-link timer decides.
    }
  }
}

/**
 * The state of a connection's network path: ICE's own state, except that Chromium's `iceConnectionState` may
 * stay `disconnected` when the path is gone for good while `connectionState` (ICE and DTLS together) says `failed`.
 */
function pathState(pc: Pick<RTCPeerConnection, 'iceConnectionState' | 'connectionState'>): 'new' | 'connected' | 'disconnected' | 'failed' | 'closed' {
  const ice = pc.iceConnectionState;
  const conn = pc.connectionState;
  if (ice === 'closed' || conn === 'closed') return 'closed';
  if (ice === 'failed' || conn === 'failed') return 'failed';
  if (ice === 'disconnected' || conn === 'disconnected') return 'disconnected';
  if (ice === 'connected' || ice === 'completed') return 'connected';
  return 'new';
}

