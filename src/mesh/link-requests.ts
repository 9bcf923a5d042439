/**
 * What the other side of a link asks this peer to do, raised by PeerLink as events named after the frame's type:
 * `shard` (start a lease), `pull` (send the outputs kept for a pipeline lease) and `infer` (answer a serving request).
 */
import type { PeerFrame } from '../protocol/peer.ts';
import type { PeerLink } from './peer-link.ts';

/** Detail of the `shard` event: the other side asks to start a lease. */
export interface ShardRequest {
  link: PeerLink;
  frame: Extract<PeerFrame, { type: 'shard' }>;
}

/** Detail of the `pull` event: the other side asks for the outputs this peer keeps for a pipeline lease. */
export interface PullRequest {
  link: PeerLink;
  frame: Extract<PeerFrame, { type: 'pull' }>;
}

/** Detail of the `infer` event: the other side sends a serving request (its inputs blob follows). */
export interface InferRequest {
  link: PeerLink;
  frame: Extract<PeerFrame, { type: 'infer' }>;
}

/** A frame that asks the receiving peer to do something (see the request types above). */
export type RequestFrame = Extract<PeerFrame, { type: 'shard' | 'pull' | 'infer' }>;

/** The event a link raises for a request frame: named after the frame's type, with the link and the frame. */
export function requestEvent(link: PeerLink, frame: RequestFrame): CustomEvent<ShardRequest | PullRequest | InferRequest> {
  return new CustomEvent(frame.type, { detail: { link, frame } as ShardRequest | PullRequest | InferRequest });
}
