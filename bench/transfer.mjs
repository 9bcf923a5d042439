// Shard transfer throughput: Meshwork's peer link (peerjs DataConnection signalled by our coordinator, blob
// frames, backpressure, reassembly, SHA-256 check on arrival) against a plain RTCDataChannel pair in the same
// run, between two pages in separate browser contexts. Runs alternate raw/mesh so drift on a shared machine
// hits both alike; each figure is the median of REPEATS.
import { median, openPage } from './lib.mjs';

const PAGE = '/bench/pages/transfer.html';
const MiB = 1024 * 1024;
/** Bytes per measured transfer. */
const TOTAL = 64 * MiB;
/** Bytes of the unmeasured warm-up transfer on each path: the first transfer on a fresh channel runs at
 * half speed or less (SCTP windows, JIT, allocations), so it is as large as the measured ones. */
const WARMUP = TOTAL;
const REPEATS = Number(process.env.MESHWORK_BENCH_REPEATS ?? 3);

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

/** Connects the raw pair: SDP (with its candidates, after gathering) carried by evaluate calls. */
async function connectRaw(sender, receiver) {
  const offer = await sender.evaluate(() => window.benchTransfer.rawOffer());
  const answer = await receiver.evaluate((o) => window.benchTransfer.rawAnswer(o), offer);
  await sender.evaluate((a) => window.benchTransfer.rawAccept(a), answer);
}

async function rawRun(sender, receiver, total) {
  await receiver.evaluate((n) => window.benchTransfer.rawExpect(n), total);
  return sender.evaluate((n) => window.benchTransfer.rawSend(n), total);
}

let leases = 0;
async function meshRun(sender, receiver, senderId, receiverId, total) {
  const leaseId = `bench-${++leases}`;
  await receiver.evaluate(([from, id]) => window.benchTransfer.meshExpect(from, id), [senderId, leaseId]);
  const ms = await sender.evaluate(([to, id, n]) => window.benchTransfer.meshSend(to, id, n), [receiverId, leaseId, total]);
  const got = await receiver.evaluate(() => window.benchTransfer.meshReceived());
  if (got !== total) throw new Error(`Cannot count the mesh transfer as the receiver got ${got} bytes, not ${total}`);
  return ms;
}

/** Rows for `npm run bench`: mesh MB/s vs raw MB/s, and what the SHA-256 check costs per 64 MiB. */
export async function benchTransfer({ browser, baseURL }) {
  const sender = await openPage(browser, baseURL, PAGE);
  const receiver = await openPage(browser, baseURL, PAGE);
  try {
    await connectRaw(sender, receiver);
    const senderId = await sender.evaluate(() => window.benchTransfer.meshOpen());
    const receiverId = await receiver.evaluate(() => window.benchTransfer.meshOpen());
    await sender.evaluate((to) => window.benchTransfer.meshDial(to), receiverId);

    await rawRun(sender, receiver, WARMUP);
    await meshRun(sender, receiver, senderId, receiverId, WARMUP);
    const rawMs = [];
    const meshMs = [];
    for (let i = 0; i < REPEATS; i++) {
      rawMs.push(await rawRun(sender, receiver, TOTAL));
      meshMs.push(await meshRun(sender, receiver, senderId, receiverId, TOTAL));
    }
    const hashMs = [];
    for (let i = 0; i < REPEATS; i++) hashMs.push(await receiver.evaluate((n) => window.benchTransfer.hashMs(n), TOTAL));

    const raw = mbps(TOTAL, median(rawMs));
    const mesh = mbps(TOTAL, median(meshMs));
    const hash = median(hashMs);
    // The receiver can only hash once the last byte is in (WebCrypto has no incremental digest), so the
    // check adds its full time to every transfer; without it the link would reach this rate.
    const meshNoHash = mbps(TOTAL, median(meshMs) - hash);
    const runs = (xs) => xs.map((x) => x.toFixed(0)).join('/');
    return [
      {
        bench: 'transfer',
        measure: 'MB/s, 64 MiB, mesh link vs raw RTCDataChannel',
        value: mesh,
        baseline: raw,
        ratio: mesh / raw,
        note: `median of ${REPEATS}; ms mesh ${runs(meshMs)}, raw ${runs(rawMs)}; goal ratio >= 0.8`,
      },
      {
        bench: 'transfer',
        measure: 'SHA-256 of 64 MiB on arrival, ms',
        value: hash,
        baseline: median(meshMs),
        ratio: hash / median(meshMs),
        note: `share of the mesh transfer time; mesh MB/s without it: ${meshNoHash.toFixed(1)} (${(meshNoHash / raw).toFixed(3)} of raw)`,
      },
    ];
  } finally {
    await Promise.all([sender, receiver].map((p) => p.evaluate(() => window.benchTransfer.close()).catch(() => {})));
    await Promise.all([sender, receiver].map((p) => p.context().close()));
  }
}
