/**
 * A mesh API client for tests, with a real Ed25519 identity: authenticates against the challenge, sends
 * requests with fresh rids, signs jobs, claims and receipts as a browser peer would.
 */
import {
  authMessage,
  type ClientFrame,
  type JobSpec,
  type LeaseFailure,
  type ContributorLease,
  type Receipt,
  type ServerFrame,
  signedText,
  type SubmitResult,
} from '../../src/protocol/coordinator.ts';
import { fromWireError } from '../../src/protocol/errors.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import { generateKeyPair, type Identity, identityFromKeyPair } from '../../src/core/identity.ts';
import { WsInbox } from './ws-inbox.ts';

type Request = Exclude<ClientFrame, { type: 'auth' }>;
/** A request frame without its rid (the client numbers them). */
export type RequestBody = Request extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

/** A fresh identity with a real Ed25519 key pair. */
export async function newIdentity(): Promise<Identity> {
  return identityFromKeyPair(await generateKeyPair());
}

/** An authenticated mesh API session. */
export class MeshTestClient {
  #rid = 0;
  private constructor(readonly inbox: WsInbox<ServerFrame>, readonly identity: Identity, readonly welcome: Extract<ServerFrame, { type: 'welcome' }>) {}

  /**
   * Opens `/mesh`, answers the challenge and waits for `welcome`; throws the server's error if refused.
   * `from` sets X-Forwarded-For, which a coordinator started with `trustProxy: ['127.0.0.1']` takes as the
   * client's address: how tests put peers on different networks on one machine.
   */
  static async connect(baseUrl: string, identity?: Identity, from?: string): Promise<MeshTestClient> {
    const id = identity ?? await newIdentity();
    const inbox = MeshTestClient.open(baseUrl, from);
    const challenge = await inbox.nextOfType('challenge');
    inbox.send({ type: 'auth', v: PROTOCOL_VERSION, peerId: id.peerId, publicKey: id.publicKey, signature: await id.sign(authMessage(challenge.nonce, id.peerId)) });
    const reply = await inbox.next((f) => f.type === 'welcome' || f.type === 'error', 'welcome');
    if (reply.type === 'error') {
      await inbox.close();
      throw fromWireError(reply.error);
    }
    return new MeshTestClient(inbox, id, reply as Extract<ServerFrame, { type: 'welcome' }>);
  }

  /** A raw, unauthenticated socket to `/mesh` (optionally as if forwarded for address `from`). */
  static open(baseUrl: string, from?: string): WsInbox<ServerFrame> {
    const url = baseUrl.replace(/^http/, 'ws') + '/mesh';
    // Deno's WebSocket takes extra request headers as a second argument.
    const ws = from ? new (WebSocket as unknown as new (u: string, o: { headers: Record<string, string> }) => WebSocket)(url, { headers: { 'x-forwarded-for': from } }) : new WebSocket(url);
    return new WsInbox<ServerFrame>(ws);
  }

  /** The peer id. */
  get peerId(): string {
    return this.identity.peerId;
  }

  /** Sends a request and resolves with its `ok` result, or rejects with the MeshError of its `error`. */
  async request<T = unknown>(body: RequestBody): Promise<T> {
    const rid = ++this.#rid;
    this.inbox.send({ ...body, rid });
    const reply = await this.inbox.next((f) => (f.type === 'ok' || f.type === 'error') && f.rid === rid, `reply to ${body.type} #${rid}`);
    if (reply.type === 'error') throw fromWireError(reply.error);
    return (reply as { result?: T }).result as T;
  }

  /** Signs and submits a job. */
  async submit(job: JobSpec): Promise<SubmitResult> {
    return this.request<SubmitResult>({ type: 'submit', job, signature: await this.identity.sign(signedText('job', job)) });
  }

  /** Signs and sends a result claim for a lease this contributor holds. */
  async claim(lease: ContributorLease, outputHash: string): Promise<unknown> {
    const claim = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, outputHash };
    return this.request({ type: 'result', claim, signature: await this.identity.sign(signedText('result', claim)) });
  }

  /** Reports that this contributor could not finish a lease it holds. */
  fail(lease: ContributorLease, reason: LeaseFailure, message?: string): Promise<{ released: boolean }> {
    return this.request({ type: 'fail', jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, reason, ...(message === undefined ? {} : { message }) });
  }

  /** The receipt a client signs for a lease. */
  receiptFor(lease: ContributorLease, outputHash: string, workUnits: number): Receipt {
    return { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, contributor: lease.contributor, outputHash, workUnits };
  }

  /** Signs and sends a receipt. */
  async pay(receipt: Receipt): Promise<{ paid: boolean; amount: number; fee: number }> {
    return this.request({ type: 'receipt', receipt, signature: await this.identity.sign(signedText('receipt', receipt)) });
  }

  /** The next push of a type. */
  next<T extends ServerFrame['type']>(type: T, timeoutMs = 5000): Promise<Extract<ServerFrame, { type: T }>> {
    return this.inbox.nextOfType(type, timeoutMs) as Promise<Extract<ServerFrame, { type: T }>>;
  }

  /** Closes the session and waits for the socket to close. */
  close(): Promise<void> {
    return this.inbox.close();
  }
}
