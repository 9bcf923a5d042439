/**
 * Peers prove their ids to each other on every data channel. Signalling only introduced them: without this,
 * whoever answered an offer could claim to be any contributor. Each side sends `hello` (its keyed id, public
 * key and a fresh nonce) and, once it has the other's hello, `proof`: its signature over
 * `meshwork-link:v1:<the other's nonce>:<own id>:<other id>:<own DTLS fingerprint>:<the other's fingerprint>`.
 * The verifier checks that the key derives the id the link was opened with, that the nonce is its own (no
 * replay), and that the fingerprints are those of this very DTLS session seen from the other end, so a relay
 * in the middle, which must run two DTLS sessions, cannot forward a proof.
 */
import type { DataConnection } from 'peerjs';
import { fromBase64Url, toBase64Url } from '../core/encoding.ts';
import { type Identity, peerIdFromPublicKey, verifySignature } from '../core/identity.ts';
import { MeshError } from '../protocol/errors.ts';
import type { LinkFrame } from '../protocol/peer.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';

/** The SHA-256 DTLS fingerprint in an SDP (`a=fingerprint:sha-256 AB:CD:...`), or '' when there is none. */
export function sdpFingerprint(sdp: string | undefined): string {
  const m = /^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)\s*$/m.exec(sdp ?? '');
  return m ? m[1]!.toUpperCase() : '';
}

/** This end's and the other end's DTLS fingerprints of a connection ('' where the browser gives none). */
export function fingerprints(conn: Pick<DataConnection, 'peerConnection'>): { local: string; remote: string } {
  const pc = conn.peerConnection as RTCPeerConnection | undefined;
  return { local: sdpFingerprint(pc?.localDescription?.sdp), remote: sdpFingerprint(pc?.remoteDescription?.sdp) };
}

/** The text one side signs. */
export function proofText(nonce: string, signer: string, verifier: string, signerFp: string, verifierFp: string): string {
  return `meshwork-link:v1:${nonce}:${signer}:${verifier}:${signerFp}:${verifierFp}`;
}

/** One side of the handshake. */
export class LinkAuth {
  readonly nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  #theirs: Extract<LinkFrame, { type: 'hello' }> | undefined;

  constructor(
    private readonly identity: Identity,
    /** The id signalling connected us to: the other side must prove exactly this one. */
    private readonly remote: string,
    private readonly fps: () => { local: string; remote: string },
  ) {}

  /** Our hello. */
  hello(): LinkFrame {
    return { type: 'hello', v: PROTOCOL_VERSION, peerId: this.identity.peerId, publicKey: this.identity.publicKey, nonce: this.nonce };
  }

  /** Takes the other side's hello; returns our proof for it. Throws MeshError naming what is wrong. */
  async onHello(frame: Extract<LinkFrame, { type: 'hello' }>): Promise<LinkFrame> {
    if (this.#theirs) throw new MeshError('invalid-message', `Cannot accept a second hello from ${this.remote}`);
    if (frame.peerId !== this.remote) {
      throw new MeshError('unauthorized', `Cannot link to ${this.remote} as it says it is ${frame.peerId}`);
    }
    if ((await peerIdFromPublicKey(fromBase64Url(frame.publicKey))) !== frame.peerId) {
      throw new MeshError('unauthorized', `Cannot link to ${this.remote} as its public key derives another id`);
    }
    this.#theirs = frame;
    const { local, remote } = this.fps();
    return { type: 'proof', signature: await this.identity.sign(proofText(frame.nonce, this.identity.peerId, this.remote, local, remote)) };
  }

  /** Checks the other side's proof; throws MeshError('unauthorized') unless it proves the remote id. */
  async onProof(frame: Extract<LinkFrame, { type: 'proof' }>): Promise<void> {
    const theirs = this.#theirs;
    if (!theirs) throw new MeshError('invalid-message', `Cannot accept a proof from ${this.remote} before its hello`);
    const { local, remote } = this.fps();
    const text = proofText(this.nonce, this.remote, this.identity.peerId, remote, local);
    if (!(await verifySignature(theirs.publicKey, text, frame.signature))) {
      throw new MeshError('unauthorized', `Cannot link to ${this.remote} as its proof of identity does not verify for this connection`);
    }
  }
}
