/**
 * A connection from this peer to itself. The coordinator may lease a shard of a page's own job to that same
 * page when it also contributes; WebRTC cannot connect a peer id to itself, so both ends of that link are
 * an in-memory pair with the subset of the peerjs DataConnection / RTCDataChannel surface PeerLink uses
 * (send, bufferedAmount with 'bufferedamountlow', data/close/error events), delivering asynchronously in order
 * and, as a real channel does, copying binary data at send().
 */
import type { DataConnection } from 'peerjs';

type Handler = (...args: unknown[]) => void;

/** One end of an in-memory connection. */
class LoopbackEnd {
  readonly peer: string;
  readonly serialization = 'raw';
  readonly reliable = true;
  open = true;
  other: LoopbackEnd | undefined;
  readonly dataChannel: LoopbackChannel;
  readonly #handlers = new Map<string, Set<Handler>>();

  constructor(peer: string) {
    this.peer = peer;
    this.dataChannel = new LoopbackChannel(this);
  }

  on(event: string, fn: Handler): this {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  off(event: string, fn: Handler): this {
    this.#handlers.get(event)?.delete(fn);
    return this;
  }

  emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.#handlers.get(event) ?? [])]) fn(...args);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.emit('close');
    this.other?.close();
  }
}

/** The channel of a loopback end: queues messages and delivers them on a later task, tracking bufferedAmount. */
class LoopbackChannel extends EventTarget {
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType: BinaryType = 'arraybuffer';
  readonly #end: LoopbackEnd;
  readonly #queue: (string | ArrayBuffer)[] = [];
  #scheduled = false;

  constructor(end: LoopbackEnd) {
    super();
    this.#end = end;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.#end.open) throw new DOMException('Cannot send on a closed loopback channel', 'InvalidStateError');
    // Like RTCDataChannel, take a copy of binary data now: the sender may reuse its buffer after the call.
    if (typeof data !== 'string') data = ArrayBuffer.isView(data) ? copyOf(data) : data.slice(0);
    this.#queue.push(data);
    this.bufferedAmount += size(data);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.#flush(), 0);
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const before = this.bufferedAmount;
    for (const data of this.#queue.splice(0)) {
      this.bufferedAmount -= size(data);
      if (this.#end.open) this.#end.other?.emit('data', data);
    }
    if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) {
      this.dispatchEvent(new Event('bufferedamountlow'));
    }
  }
}

function copyOf(view: ArrayBufferView): ArrayBuffer {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
}

function size(data: string | ArrayBuffer): number {
  return typeof data === 'string' ? data.length : data.byteLength;
}

/** Two connected ends, both reporting `peerId` as their remote (it is this peer on both sides). */
export function loopbackPair(peerId: string): [DataConnection, DataConnection] {
  const a = new LoopbackEnd(peerId);
  const b = new LoopbackEnd(peerId);
  a.other = b;
  b.other = a;
  return [a as unknown as DataConnection, b as unknown as DataConnection];
}
