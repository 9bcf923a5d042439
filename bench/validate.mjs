// Runs bench/validate_bench.ts under Deno and reports ns per parse of each hot wire frame. No baseline ratio:
// the hand-written validators it replaced are gone from the tree; their figures, measured with the same script
// on the same machine on the day of the move, stand in each row's note.
import { runDenoJson } from './lib.mjs';

/** ns/parse of the hand-written validators at 4751d49 (median of 3 runs, 2026-12-03, 2-core machine, Deno 2.9.6). */
const HAND_WRITTEN_NS = {
  offer: 2781, shard: 176, blob: 512, done: 1513, result: 624, receipt: 900, register: 2003, submit1000: 1414846, offerJsonParse: 2628,
};

const LABELS = {
  offer: 'signalling OFFER, 3.3 KB SDP (text in)',
  shard: 'peer shard',
  blob: 'peer blob (deflate-raw)',
  done: 'peer done, 4 outputs',
  result: 'mesh result',
  receipt: 'mesh receipt',
  register: 'mesh register (GPU caps)',
  submit1000: 'mesh submit, 1,000 shards',
  offerJsonParse: 'JSON.parse of the OFFER text alone',
};

/** Rows for `npm run bench -- validate`: one per frame kind. */
export async function benchValidate() {
  const r = await runDenoJson('bench/validate_bench.ts');
  return Object.entries(r.nsPerParse).map(([frame, ns]) => ({
    bench: 'validate',
    measure: `ns/parse ${LABELS[frame] ?? frame}`,
    value: ns,
    note: frame === 'offerJsonParse'
      ? `reference, no validation; at 4751d49: ${HAND_WRITTEN_NS[frame]} ns`
      : `hand-written (4751d49), 2026-12-03: ${HAND_WRITTEN_NS[frame]} ns`,
  }));
}
