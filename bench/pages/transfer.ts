// Benchmark harness for shard transfer: the same bytes over (1) a plain RTCPeerConnection pair signalled by
// hand through Playwright, and (2) Meshwork's own path: a PeerLink over a peerjs DataConnection signalled by
// our coordinator, blob frames with backpressure, reassembly and the SHA-256 check on arrival. Both sides
// time from the first byte sent until an acknowledgement from the receiver arrives back on the same channel,
// so the timing is taken on one clock (the sender's) and both include one small-message trip back.
import { sha256Hex } from '../../src/core/hash.ts';
import { generateKeyPair, identityFromKeyPair } from '../../src/core/identity.ts';
import { fetchConfig, type PeerLink, PeerNetwork } from '../../src/mesh/index.ts';

/** Raw channel: message size and the bufferedAmount marks of its backpressure. */
export interface RawOptions {
  messageBytes: number;
  highWaterBytes: number;
  lowWaterBytes: number;
}

const RAW_DEFAULTS: RawOptions = { messageBytes: 64 * 1024, highWaterBytes: 4 * 1024 * 1024, lowWaterBytes: 1024 * 1024 };

let source: { bytes: Uint8Array<ArrayBuffer>; sha256: string } | undefined;

/** Deterministic pseudo-random bytes (xorshift32), the same in every page, with their SHA-256. */
async function payload(total: number): Promise<{ bytes: Uint8Array<ArrayBuffer>; sha256: string }> {
  if (source?.bytes.byteLength === total) return source;
  if (!Number.isSafeInteger(total) || total < 4 || total % 4 !== 0) {
    throw new RangeError(`Cannot make a payload as 'total' must be a positive multiple of 4: current value is ${total}`);
  }
  const words = new Uint32Array(total / 4);
  let s = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s >>> 0;
  }
  const bytes = new Uint8Array(words.buffer);
  source = { bytes, sha256: await sha256Hex(bytes) };
  return source;
}

function iceGathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
}

function opened(dc: RTCDataChannel): Promise<RTCDataChannel> {
  if (dc.readyState === 'open') return Promise.resolve(dc);
  return new Promise((resolve, reject) => {
    dc.addEventListener('open', () => resolve(dc), { once: true });
    dc.addEventListener('close', () => reject(new Error(`Cannot open raw channel '${dc.label}' as it closed`)), { once: true });
  });
}

function bufferedLow(dc: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      dc.removeEventListener('bufferedamountlow', done);
      dc.removeEventListener('close', done);
      if (dc.readyState === 'open') resolve();
      else reject(new Error('Cannot send on the raw channel as it closed'));
    };
    dc.addEventListener('bufferedamountlow', done);
    dc.addEventListener('close', done);
  });
}

/** The next text message on `dc` (the receiver's acknowledgement), within `timeoutMs`. */
function nextText(dc: RTCDataChannel, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      dc.removeEventListener('message', on);
      reject(new Error(`Cannot finish the raw transfer as no acknowledgement came within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (e: MessageEvent) => {
      if (typeof e.data !== 'string') return;
      clearTimeout(timer);
      dc.removeEventListener('message', on);
      resolve(e.data);
    };
    dc.addEventListener('message', on);
  });
}

interface RawSide {
  pc: RTCPeerConnection;
  channel: Promise<RTCDataChannel>;
  /** Receiver: bytes expected for the current transfer, and what arrived (kept, as an app would). */
  want: number;
  got: number;
  parts: ArrayBuffer[];
}

let raw: RawSide | undefined;

function rawSide(): RawSide {
  if (!raw) throw new Error('Cannot use the raw channel as none was set up: call rawOffer() or rawAnswer() first');
  return raw;
}

function rawClose(): void {
  raw?.pc.close();
  raw = undefined;
}

// Meshwork side: this page's peer network and the links other peers opened to it.
let network: PeerNetwork | undefined;
const links = new Map<string, PeerLink>();
const linkWaiters = new Map<string, (link: PeerLink) => void>();
let receiving: Promise<number> | undefined;

function net(): PeerNetwork {
  if (!network) throw new Error('Cannot use the mesh as it was not opened: call meshOpen() first');
  return network;
}

/** The link `remote` opened to this page (waits for it to arrive). */
function inboundLink(remote: string, timeoutMs = 20_000): Promise<PeerLink> {
  const have = links.get(remote);
  if (have?.open) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Cannot find a link from ${remote}: none arrived within ${timeoutMs} ms`)), timeoutMs);
    linkWaiters.set(remote, (link) => {
      clearTimeout(timer);
      resolve(link);
    });
  });
}

const api = {
  crossOriginIsolated: () => crossOriginIsolated,

  /** Sender: creates the pair's offering side and returns its SDP once ICE gathering is complete. */
  async rawOffer(): Promise<RTCSessionDescriptionInit> {
    rawClose();
    const pc = new RTCPeerConnection({ iceServers: [] });
    const dc = pc.createDataChannel('bench', { ordered: true });
    dc.binaryType = 'arraybuffer';
    raw = { pc, channel: opened(dc), want: 0, got: 0, parts: [] };
    raw.channel.catch(() => {});
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    return pc.localDescription!.toJSON();
  },

  /** Receiver: answers an offer; received bytes are kept until the expected total arrived, then acknowledged. */
  async rawAnswer(offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
    rawClose();
    const pc = new RTCPeerConnection({ iceServers: [] });
    const side: RawSide = {
      pc,
      channel: new Promise((resolve) => {
        pc.addEventListener('datachannel', (e) => resolve(opened(e.channel)), { once: true });
      }),
      want: 0,
      got: 0,
      parts: [],
    };
    raw = side;
    void side.channel.then((dc) => {
      dc.binaryType = 'arraybuffer';
      dc.addEventListener('message', (e: MessageEvent) => {
        if (!(e.data instanceof ArrayBuffer)) return;
        side.parts.push(e.data);
        side.got += e.data.byteLength;
        if (side.want > 0 && side.got >= side.want) {
          dc.send(`ack ${side.got}`);
          side.want = 0;
          side.got = 0;
          side.parts = [];
        }
      });
    });
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await iceGathered(pc);
    return pc.localDescription!.toJSON();
  },

  /** Sender: applies the answer and waits for the channel to open. */
  async rawAccept(answer: RTCSessionDescriptionInit): Promise<void> {
    const side = rawSide();
    await side.pc.setRemoteDescription(answer);
    await side.channel;
  },

  /** Receiver: waits for the channel, then expects `total` bytes. */
  async rawExpect(total: number): Promise<void> {
    const side = rawSide();
    await side.channel;
    side.want = total;
    side.got = 0;
    side.parts = [];
  },

  /** Sender: streams `total` bytes with backpressure; ms until the receiver's acknowledgement arrived. */
  async rawSend(total: number, opts: Partial<RawOptions> = {}): Promise<number> {
    const o = { ...RAW_DEFAULTS, ...opts };
    const dc = await rawSide().channel;
    const { bytes } = await payload(total);
    dc.bufferedAmountLowThreshold = o.lowWaterBytes;
    const ack = nextText(dc, 300_000);
    const t0 = performance.now();
    for (let at = 0; at < total; at += o.messageBytes) {
      if (dc.bufferedAmount > o.highWaterBytes) await bufferedLow(dc);
      dc.send(bytes.subarray(at, Math.min(at + o.messageBytes, total)));
    }
    const reply = await ack;
    const ms = performance.now() - t0;
    if (reply !== `ack ${total}`) throw new Error(`Cannot trust the raw transfer as the receiver acknowledged '${reply}', not 'ack ${total}'`);
    return ms;
  },

  /** Closes the raw pair's side in this page. */
  rawClose,

  /** Opens signalling with the coordinator serving this page under a fresh identity; returns the peer id. */
  async meshOpen(): Promise<string> {
    network?.close();
    links.clear();
    const identity = await identityFromKeyPair(await generateKeyPair());
    const config = await fetchConfig(location.origin);
    network = await PeerNetwork.open(location.origin, identity, config);
    network.addEventListener('link', (e) => {
      const link = (e as CustomEvent<PeerLink>).detail;
      links.set(link.remote, link);
      linkWaiters.get(link.remote)?.(link);
      linkWaiters.delete(link.remote);
    });
    return identity.peerId;
  },

  /** Sender: dials (or reuses) the link to `remote`. */
  async meshDial(remote: string): Promise<void> {
    await net().link(remote);
  },

  /**
   * Receiver: takes the next `inputs` blob of `leaseId` from `remote` (reassembled and hash-checked by the
   * link, as for a real lease) and answers it with a `need` frame, the smallest control frame of the protocol.
   */
  async meshExpect(remote: string, leaseId: string): Promise<void> {
    const link = await inboundLink(remote);
    const inbox = link.lease(leaseId);
    receiving = inbox.nextBlob('inputs').then((blob) => {
      link.sendControl({ type: 'need', leaseId, model: false });
      link.endLease(leaseId);
      return blob.bytes.byteLength;
    });
    receiving.catch(() => {});
  },

  /** Receiver: bytes of the blob the last meshExpect took (rejects with its error, e.g. a hash mismatch). */
  async meshReceived(): Promise<number> {
    if (!receiving) throw new Error('Cannot report a received blob as none was expected: call meshExpect() first');
    return receiving;
  },

  /**
   * Sender: streams `total` bytes as the inputs blob of `leaseId` over the link to `remote`; ms until the
   * receiver's `need` frame arrived. The hash is computed beforehand, as the SDK does when it plans a job.
   */
  async meshSend(remote: string, leaseId: string, total: number): Promise<number> {
    const link = await net().link(remote);
    const { bytes, sha256 } = await payload(total);
    const inbox = link.lease(leaseId);
    try {
      const t0 = performance.now();
      await link.sendBlob(leaseId, 'inputs', bytes, { sha256 });
      await inbox.nextFrame('need', 300_000);
      return performance.now() - t0;
    } finally {
      link.endLease(leaseId);
    }
  },

  /** Milliseconds of one SHA-256 over the `total`-byte payload (what each side's check costs). */
  async hashMs(total: number): Promise<number> {
    const { bytes } = await payload(total);
    const t0 = performance.now();
    await sha256Hex(bytes);
    return performance.now() - t0;
  },

  /** Closes the mesh network and the raw pair. */
  close(): void {
    network?.close();
    network = undefined;
    rawClose();
  },
};

/** What bench/transfer.mjs reaches through `window.benchTransfer`. */
export type TransferBench = typeof api;

declare global {
  interface Window {
    benchTransfer: TransferBench;
  }
}

window.benchTransfer = api;
document.body.dataset.ready = 'true';
