/**
 * How much one signalling client may send. Three buckets, so that limits protect the server without letting
 * strangers silence an honest peer:
 * - per destination: `ratePerSec` messages (burst `rateBurst`) from this sender to one peer, so a flood at
 *   one victim is cut at the sender;
 * - per sender, in bytes for every message (checked before parsing) and in messages for messages that start
 *   a conversation (ten times the per-destination rate);
 * - replies are exempt from the sender-wide buckets: a message to a peer that messaged this sender within
 *   REPLY_WINDOW_MS is an answer, and answering twenty peers that each ask at their full rate must not use up
 *   the answering peer's own budget (those twenty paid for their questions with theirs).
 * Per-client maps are bounded (MAX_TRACKED peers each); the least recent entry goes first. They are made on
 * first use: most connected peers sit idle between calls, and two empty maps per peer are ~600 bytes.
 */
import { TokenBucket } from '../limits/token-bucket.ts';

/** Bytes per second a client may send to peers it starts talking to, and the burst. */
export const BYTES_PER_SEC = 1024 * 1024;
const BYTES_BURST = 4 * 1024 * 1024;
/** A message counts as a reply within this long after the destination last messaged the sender. */
export const REPLY_WINDOW_MS = 5_000;
/** Destinations and askers tracked per client. */
export const MAX_TRACKED = 512;

/** Why a message was refused, or null when it may go. */
export type SendVerdict = null | 'to-peer' | 'sender' | 'bytes';

/** One client's send budget. */
export class SendLimits {
  #perDst: Map<string, TokenBucket> | undefined;
  #askedBy: Map<string, number> | undefined;
  readonly #sender: TokenBucket;
  readonly #bytes = new TokenBucket(BYTES_PER_SEC, BYTES_BURST);
  #lastNotice = -Infinity;

  constructor(private readonly ratePerSec: number, private readonly rateBurst: number, private readonly now: () => number = Date.now) {
    this.#sender = new TokenBucket(ratePerSec * 10, rateBurst * 10);
  }

  /**
   * Takes the byte budget of a message before it is even parsed (parsing a 60 KB offer costs real CPU, so a
   * flood is refused by its size first). Replies count here too: answers are small.
   */
  takeBytes(bytes: number): SendVerdict {
    return this.#bytes.take(bytes) ? null : 'bytes';
  }

  /** Whether to tell the sender about a refusal now (at most one notice a second: a flood gets no echo). */
  notice(): boolean {
    const now = this.now();
    if (now - this.#lastNotice < 1000) return false;
    this.#lastNotice = now;
    return true;
  }

  /** Takes the message budget for one message to `dst` (undefined: to the server, e.g. HEARTBEAT). */
  take(dst: string | undefined): SendVerdict {
    if (dst === undefined) return this.#sender.take() ? null : 'sender';
    const perDst = this.#perDst ??= new Map();
    let bucket = perDst.get(dst);
    if (bucket) perDst.delete(dst);
    else bucket = new TokenBucket(this.ratePerSec, this.rateBurst);
    perDst.set(dst, bucket);
    trim(perDst);
    if (!bucket.take()) return 'to-peer';
    const asked = this.#askedBy?.get(dst);
    if (asked !== undefined && this.now() - asked <= REPLY_WINDOW_MS) return null;
    return this.#sender.take() ? null : 'sender';
  }

  /** `src` sent this client a message: answers to it are replies for a while. */
  heardFrom(src: string): void {
    const askedBy = this.#askedBy ??= new Map();
    askedBy.delete(src);
    askedBy.set(src, this.now());
    trim(askedBy);
  }
}

function trim(map: Map<string, unknown>): void {
  while (map.size > MAX_TRACKED) map.delete(map.keys().next().value!);
}
