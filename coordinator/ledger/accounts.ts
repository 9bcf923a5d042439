/** Account naming shared by every ledger engine. */

/** Pseudo-account that minted credits come from; it has no balance. */
export const MINT = 'mint';
/** Account collecting protocol fees. */
export const FEES = 'fees';

/** Account key of a peer. */
export const peerAccount = (peerId: string): string => `peer:${peerId}`;
/** Account key of a job's escrow. */
export const escrowAccount = (jobId: string): string => `escrow:${jobId}`;
/** Account key of a peer's grant credits (minted starter credits, spendable as escrow only). */
export const grantAccount = (peerId: string): string => `grant:${peerId}`;
