/**
 * Sends of serving frames one blob at a time per link. A link's receiver accepts a bounded number of blobs in
 * transfer at once (mesh/transfer.ts, 32) and closes the link past it; many concurrent callers (or a batch's
 * answers) each sending a blob would interleave their announcements and chunks and could pass that bound.
 * Queued here, each request's `infer` frame and inputs (or each answer's outputs and `answer` frame) go out
 * whole before the next starts; small blobs make the queue short.
 */
import type { PeerLink } from '../../mesh/peer-link.ts';

const tails = new WeakMap<PeerLink, Promise<unknown>>();

/** Runs `send` after the link's earlier queued sends finished (whatever their outcome). */
export function sendInTurn<T>(link: PeerLink, send: () => Promise<T>): Promise<T> {
  const previous = tails.get(link) ?? Promise.resolve();
  const mine = previous.then(send, send);
  tails.set(link, mine.catch(() => {}));
  return mine;
}
