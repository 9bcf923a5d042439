/**
 * Turns one outgoing message into a server frame on the connection's writer, refusing it (nothing queued)
 * when the queue would pass its cap. Small messages are encoded straight into the writer's pooled tail
 * buffer, so the common case allocates no typed array (each costs ~0.6 µs in Deno).
 */
import { type ConnWriter, TAIL_BYTES } from './conn-writer.ts';
import { encodeFrame, headerLength, Opcode, putHeader, utf8 } from './ws-frame.ts';

const encoder = new TextEncoder();

/** Queues `data` as one text or binary frame; false (nothing queued) when it would take `queued` past `cap`. */
export function queueMessage(writer: ConnWriter, data: string | ArrayBufferLike | ArrayBufferView, cap: number): boolean {
  if (typeof data === 'string') {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; reserve for that and a 4-byte header.
    const most = data.length * 3;
    if (most + 4 > TAIL_BYTES) return queueFrame(writer, encodeFrame(Opcode.Text, utf8(data)), cap);
    const room = writer.reserve(most + 4);
    const head = most < 126 ? 2 : 4;
    const { written } = encoder.encodeInto(data, room.subarray(head));
    let start = 0;
    if (head === 4 && written < 126) start = 2; // fewer bytes than feared: a 2-byte header, written 2 bytes later
    const size = head - start + written;
    if (writer.queued + size > cap) return false;
    if (start > 0) room.copyWithin(2, 4, 4 + written);
    putHeader(room, Opcode.Text, written);
    return writer.commit(size);
  }
  const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  const size = headerLength(bytes.length) + bytes.length;
  if (size > TAIL_BYTES) return queueFrame(writer, encodeFrame(Opcode.Binary, bytes), cap);
  if (writer.queued + size > cap) return false;
  const room = writer.reserve(size);
  room.set(bytes, putHeader(room, Opcode.Binary, bytes.length));
  return writer.commit(size);
}

function queueFrame(writer: ConnWriter, frame: Uint8Array, cap: number): boolean {
  if (writer.queued + frame.length > cap) return false;
  return writer.write(frame);
}
