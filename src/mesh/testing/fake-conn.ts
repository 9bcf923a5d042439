/**
 * In-memory stand-ins for peerjs' raw DataConnection and its RTCDataChannel (send, bufferedAmount,
 * 'bufferedamountlow', data/close events), for tests of PeerLink in Deno, which has no RTCPeerConnection. The
 * real channel is exercised by the browser end-to-end tests.
 */
/** An RTCDataChannel stand-in: send() copies binary data, buffers it and delivers it on a later macrotask. */
export class FakeChannel extends EventTarget {
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'arraybuffer';
  maxBuffered = 0;
  sentBinaryBytes = 0;
  constructor(private readonly conn: FakeConn) {
    super();
  }
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.conn.open) throw new Error('channel closed');
    // RTCDataChannel copies binary data at send(); so must the fake, as PeerLink reuses its frame buffer.
    if (typeof data !== 'string') data = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer : data.slice(0);
    const size = typeof data === 'string' ? data.length : data.byteLength;
    if (typeof data !== 'string') this.sentBinaryBytes += size;
    this.bufferedAmount += size;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    // Drain on a later macrotask so that the sender sees its buffer grow.
    setTimeout(() => {
      const before = this.bufferedAmount;
      this.bufferedAmount -= size;
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) {
        this.dispatchEvent(new Event('bufferedamountlow'));
      }
      this.conn.remote?.emit('data', data);
    }, 0);
  }
}

/** One end of a peerjs DataConnection stand-in; `peerConnection` carries the SDPs whose fingerprints it would see. */
export class FakeConn {
  open = true;
  remote: FakeConn | undefined;
  readonly dataChannel = new FakeChannel(this);
  readonly #handlers = new Map<string, Set<(...a: unknown[]) => void>>();
  readonly peerConnection: { localDescription: { sdp: string }; remoteDescription: { sdp: string } } | undefined;
  constructor(readonly peer: string, fingerprints?: { local: string; remote: string }) {
    if (fingerprints) {
      const sdp = (fp: string) => `v=0\r\na=fingerprint:sha-256 ${fp}\r\n`;
      this.peerConnection = { localDescription: { sdp: sdp(fingerprints.local) }, remoteDescription: { sdp: sdp(fingerprints.remote) } };
    }
  }
  on(ev: string, fn: (...a: unknown[]) => void) {
    if (!this.#handlers.has(ev)) this.#handlers.set(ev, new Set());
    this.#handlers.get(ev)!.add(fn);
    return this;
  }
  off(ev: string, fn: (...a: unknown[]) => void) {
    this.#handlers.get(ev)?.delete(fn);
    return this;
  }
  emit(ev: string, ...args: unknown[]) {
    for (const fn of [...(this.#handlers.get(ev) ?? [])]) fn(...args);
  }
  close() {
    if (!this.open) return;
    this.open = false;
    this.emit('close');
    this.remote?.close();
  }
}

/** Two connected ends: the first dialled `first`, the second `second`. */
export function connPair(first: string, second: string, fps?: { a: [string, string]; b: [string, string] }): [FakeConn, FakeConn] {
  const a = new FakeConn(first, fps && { local: fps.a[0], remote: fps.a[1] });
  const b = new FakeConn(second, fps && { local: fps.b[0], remote: fps.b[1] });
  a.remote = b;
  b.remote = a;
  return [a, b];
}
