/** Streaming one announced blob in parts over a peer link (PeerLink.outputWriter). */
import { CHUNK_BYTES, CHUNK_HEADER_BYTES } from '../protocol/peer.ts';
import { chunkPayloads } from './transfer.ts';

/** Streams one blob in parts (see PeerLink.outputWriter). */
export interface BlobWriter {
  /** Queues `bytes` after the parts written before; the promise settles once they are on the channel. */
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves once every part is on the channel and they add up to the announced size. */
  end(): Promise<void>;
}

/** What a writer needs of its link: the blob's transfer id, a send, and backpressure. */
export interface WriterLink {
  leaseId: string;
  tid: number;
  size: number;
  send(frame: Uint8Array<ArrayBuffer>): void;
  drain(signal?: AbortSignal): Promise<void>;
  signal?: AbortSignal | undefined;
}

/** A writer sending chunks of transfer `tid` in call order, each after the channel drained. */
export function blobWriter(l: WriterLink): BlobWriter {
  const { leaseId, size, signal } = l;
  const frame = new Uint8Array(CHUNK_HEADER_BYTES + Math.min(CHUNK_BYTES, size));
  const header = new DataView(frame.buffer);
  header.setUint32(0, l.tid, true);
  let seq = 0;
  let sent = 0;
  let chain: Promise<void> = Promise.resolve();
  const write = (bytes: Uint8Array): Promise<void> => {
    chain = chain.then(async () => {
      if (sent + bytes.byteLength > size) {
        throw new RangeError(`Cannot stream outputs of lease ${leaseId} as they were announced as ${size} bytes: current total would be ${sent + bytes.byteLength}`);
      }
      for (const payload of chunkPayloads(bytes, CHUNK_BYTES)) {
        signal?.throwIfAborted();
        await l.drain(signal);
        header.setUint32(4, seq++, true);
        frame.set(payload, CHUNK_HEADER_BYTES);
        l.send(frame.subarray(0, CHUNK_HEADER_BYTES + payload.byteLength));
      }
      sent += bytes.byteLength;
    });
    return chain;
  };
  const end = async (): Promise<void> => {
    await chain;
    if (sent !== size) throw new RangeError(`Cannot end the outputs of lease ${leaseId} as they were announced as ${size} bytes: current total is ${sent}`);
  };
  return { write, end };
}
