/**
 * A mesh API peer for load generation: the handshake and signed frames of coordinator/testing/mesh-client.ts
 * (challenge, auth with a real Ed25519 identity, welcome; signed submits, claims and receipts) over a real
 * WebSocket, but replies go to their request by rid and pushes to one handler, and nothing is kept.
 * MeshTestClient keeps every push nobody waited for in an inbox it scans on each request, and arms a timer per
 * request: right for tests, but at thousands of frames a second it would measure the test client.
 */
import { authMessage, type ClientFrame, type ContributorLease, type JobSpec, type Receipt, type ServerFrame, signedText, type SubmitResult } from '../../src/protocol/coordinator.ts';
import { fromWireError } from '../../src/protocol/errors.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import type { Identity } from '../../src/core/identity.ts';

type Request = Exclude<ClientFrame, { type: 'auth' }>;
type RequestBody = Request extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;
type Push = Exclude<ServerFrame, { type: 'ok' | 'error' | 'challenge' | 'welcome' }>;

/** An authenticated mesh API session that hands every push to `onPush`. */
export class BenchPeer {
  #rid = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Resolves when the socket has closed (every pending request is rejected first). */
  readonly closed: Promise<void>;

  private constructor(readonly socket: WebSocket, readonly identity: Identity, onPush: (f: Push) => void) {
    this.closed = new Promise((resolve) => {
      socket.addEventListener('close', () => {
        const err = new Error(`Cannot get a reply as the socket to ${socket.url} closed`);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        resolve();
      }, { once: true });
    });
    socket.addEventListener('message', (ev) => {
      const f = JSON.parse(ev.data as string) as ServerFrame;
      if (f.type === 'ok' || f.type === 'error') {
        const p = f.rid === undefined ? undefined : this.#pending.get(f.rid);
        if (!p) return;
        this.#pending.delete(f.rid!);
        if (f.type === 'ok') p.resolve(f.result);
        else p.reject(fromWireError(f.error));
        return;
      }
      if (f.type !== 'challenge' && f.type !== 'welcome') onPush(f);
    });
  }

  /** Opens `{baseUrl}/mesh`, answers the challenge and resolves after `welcome`; rejects with the server's error. */
  static connect(baseUrl: string, identity: Identity, onPush: (f: Push) => void, timeoutMs = 15_000): Promise<BenchPeer> {
    const socket = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/mesh');
    return new Promise<BenchPeer>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`Cannot connect to ${baseUrl} as no welcome came within ${timeoutMs} ms`)), timeoutMs);
      const settle = () => {
        clearTimeout(timer);
        socket.removeEventListener('message', handshake);
        socket.removeEventListener('error', broken);
        socket.removeEventListener('close', shut);
      };
      const fail = (err: Error) => {
        settle();
        try {
          socket.close();
        } catch {
          // never opened
        }
        reject(err);
      };
      const handshake = async (ev: MessageEvent) => {
        const f = JSON.parse(ev.data as string) as ServerFrame;
        if (f.type === 'challenge') {
          const signature = await identity.sign(authMessage(f.nonce, identity.peerId));
          socket.send(JSON.stringify({ type: 'auth', v: PROTOCOL_VERSION, peerId: identity.peerId, publicKey: identity.publicKey, signature }));
        } else if (f.type === 'welcome') {
          settle();
          resolve(peer);
        } else if (f.type === 'error') {
          fail(fromWireError(f.error));
        }
      };
      const peer = new BenchPeer(socket, identity, onPush);
      const broken = () => fail(new Error(`Cannot connect to ${baseUrl}/mesh: the WebSocket failed`));
      const shut = () => fail(new Error(`Cannot connect to ${baseUrl}/mesh as the socket closed before welcome`));
      socket.addEventListener('message', handshake);
      socket.addEventListener('error', broken);
      socket.addEventListener('close', shut);
    });
  }

  get peerId(): string {
    return this.identity.peerId;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends a request and resolves with its `ok` result, or rejects with the MeshError of its `error`. */
  request<T>(body: RequestBody): Promise<T> {
    const rid = ++this.#rid;
    return new Promise<T>((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) return reject(new Error(`Cannot send ${body.type} as the socket is not open`));
      this.#pending.set(rid, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.send(JSON.stringify({ ...body, rid }));
    });
  }

  /** Signs and submits a job. */
  async submit(job: JobSpec): Promise<SubmitResult> {
    return this.request<SubmitResult>({ type: 'submit', job, signature: await this.identity.sign(signedText('job', job)) });
  }

  /** Signs and sends a result claim for a lease this contributor holds. */
  async claim(lease: ContributorLease, outputHash: string): Promise<{ accepted: boolean; duplicate: boolean }> {
    const claim = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, outputHash };
    return this.request({ type: 'result', claim, signature: await this.identity.sign(signedText('result', claim)) });
  }

  /** Signs and sends a receipt for a claimed lease of this client's job. */
  async pay(lease: ContributorLease, outputHash: string, workUnits: number): Promise<{ paid: boolean; amount: number; fee: number }> {
    const receipt: Receipt = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, contributor: lease.contributor, outputHash, workUnits };
    return this.request({ type: 'receipt', receipt, signature: await this.identity.sign(signedText('receipt', receipt)) });
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }
}
