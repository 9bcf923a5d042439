/**
 * Round-trip times to linked peers, read from WebRTC's own ICE measurements and reported to the coordinator
 * (`rtt` frames), which uses a pair's round trip once both peers reported it (coordinator/market/rtt.ts).
 *
 * The selected candidate pair's `currentRoundTripTime` is what ICE consent checks measured on the path the data
 * channel uses, so no ping of our own crosses the link. A link is measured shortly after it opens and then every
 * REPORT_EVERY_MS while it stays open; loopback links (our own job) have no peer connection and are skipped.
 */
import type { PeerLink } from './peer-link.ts';

/** First measurement after a link opens (ICE has a few consent checks by then). */
export const FIRST_REPORT_MS = 1_000;
/** Measurement interval while a link stays open. */
export const REPORT_EVERY_MS = 30_000;

/** A stats entry as far as round trips go. */
interface PairStats {
  type: string;
  id?: string;
  state?: string;
  nominated?: boolean;
  selectedCandidatePairId?: string;
  currentRoundTripTime?: number;
}

/**
 * The round trip (ms) of the candidate pair in use, from a `getStats()` report: the transport's selected pair,
 * else a succeeded nominated pair; undefined when none has a measurement yet.
 */
export function rttFromStats(report: Iterable<PairStats> | { values(): Iterable<PairStats> }): number | undefined {
  const entries = [...('values' in report ? report.values() : report)];
  const selected = entries.find((s) => s.type === 'transport' && s.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = entries.find((s) => s.type === 'candidate-pair' && s.id === selected && selected !== undefined) ??
    entries.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated);
  const seconds = pair?.currentRoundTripTime;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1e4) / 10 : undefined;
}

/** Sends one `rtt` frame; failures (a coordinator away) are dropped: the next measurement retries. */
export type RttSink = (peer: string, ms: number) => Promise<unknown>;

/**
 * Measures every link `links` announces (its 'link' events) and reports to `send`; returns a function that
 * stops measuring.
 */
export function reportRtts(links: EventTarget, send: RttSink, first = FIRST_REPORT_MS, every = REPORT_EVERY_MS): () => void {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const onLink = (e: Event) => {
    const link = (e as CustomEvent<PeerLink>).detail;
    const pc = link.conn.peerConnection as RTCPeerConnection | null | undefined;
    if (!pc || typeof pc.getStats !== 'function') return;
    let timer: ReturnType<typeof setTimeout>;
    const measure = async () => {
      timers.delete(timer);
      const ms = rttFromStats(await pc.getStats().catch(() => [] as PairStats[]) as Iterable<PairStats>);
      if (ms !== undefined) await send(link.remote, ms).catch(() => {});
      if (!closed) timers.add(timer = setTimeout(measure, every));
    };
    let closed = false;
    timers.add(timer = setTimeout(measure, first));
    link.addEventListener('close', () => {
      closed = true;
      clearTimeout(timer);
      timers.delete(timer);
    }, { once: true });
  };
  links.addEventListener('link', onLink);
  return () => {
    links.removeEventListener('link', onLink);
    for (const t of timers) clearTimeout(t);
    timers.clear();
  };
}
