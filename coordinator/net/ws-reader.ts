/**
 * The read side of a server WebSocket: frames off the connection, checked against RFC 6455 and the size
 * limit BEFORE their payload is read, unmasked, reassembled from fragments and handed to the socket.
 * Once our close frame is out, data frames are skipped (counted, not buffered) until the peer's close.
 */
import type { ConnReader } from './conn-reader.ts';
import { checkClientHeader, CloseCode, decodeText, FrameError, Opcode, parseClosePayload, parseFrameHeader, unmask } from './ws-frame.ts';

/** What the reader reports to its socket. */
export interface FrameSink {
  maxMessageBytes(): number;
  /** Whether our close frame was sent (then data is discarded). */
  closing(): boolean;
  /** Any frame arrived (the peer is alive). */
  received(): void;
  /** A message was refused for its size. */
  refused(): void;
  message(data: string | Uint8Array): void;
  ping(payload: Uint8Array): void;
  peerClosed(code: number, reason: string): void;
  /** A protocol violation: close with `code`. */
  fail(code: number, reason: string): void;
  /** The connection ended or failed without a close frame. */
  ended(): void;
}

/** Longest frame header (2 + 8 length + 4 mask) rounded up: the read buffer never needs to grow past this for headers. */
const HEADER_BUFFER = 4096;

/**
 * Reads frames until the connection ends or a close frame or violation stops it; never throws. One async
 * frame per idle socket: each suspended async function costs a generator, its registers, a promise and a reaction.
 */
export function readFrames(reader: ConnReader, sink: FrameSink): Promise<void> {
  return loop(reader, sink).catch((err) => {
    if (err instanceof FrameError) sink.fail(err.code, err.message);
    else sink.ended();
  });
}

async function loop(reader: ConnReader, sink: FrameSink): Promise<void> {
  const fragments: Uint8Array[] = [];
  let fragmentBytes = 0;
  let messageOpcode = 0; // 0: no message in progress
  for (;;) {
    let h = parseFrameHeader(reader.view());
    while (h === null) {
      if (!(await reader.fill(HEADER_BUFFER))) return sink.ended();
      h = parseFrameHeader(reader.view());
    }
    checkClientHeader(h);
    const mask = h.mask!;
    reader.consume(h.headerLength);
    sink.received();
    const data = h.opcode < 0x8;
    if (data) {
      if (h.opcode === Opcode.Continuation && messageOpcode === 0) throw new FrameError(CloseCode.ProtocolError, 'Cannot continue a message as none was started');
      if (h.opcode !== Opcode.Continuation && messageOpcode !== 0) throw new FrameError(CloseCode.ProtocolError, `Cannot start a message (opcode ${h.opcode}) before the previous one ended`);
      if (sink.closing()) {
        if (!(await reader.skip(h.length))) return sink.ended();
        messageOpcode = h.fin ? 0 : messageOpcode || h.opcode;
        continue;
      }
      const limit = sink.maxMessageBytes();
      if (fragmentBytes + h.length > limit) {
        sink.refused();
        throw new FrameError(CloseCode.TooBig, `Cannot accept a message of ${fragmentBytes + h.length} bytes or more: the limit is ${limit}`);
      }
    }
    // A payload already in the read buffer is unmasked and read in place (no copy) unless it must outlive it.
    const inBuffer = h.length <= reader.buffered;
    let payload: Uint8Array | null = inBuffer ? reader.view().subarray(0, h.length) : await reader.readExact(h.length);
    if (payload === null) return sink.ended();
    unmask(payload, mask);
    switch (h.opcode) {
      case Opcode.Ping:
        sink.ping(payload);
        break;
      case Opcode.Pong:
        break;
      case Opcode.Close: {
        const { code, reason } = parseClosePayload(payload);
        return sink.peerClosed(code, reason);
      }
      default: {
        if (h.opcode !== Opcode.Continuation) messageOpcode = h.opcode;
        if (h.fin && fragments.length === 0 && messageOpcode === Opcode.Text) {
          messageOpcode = 0;
          const text = decodeText(payload);
          if (inBuffer) reader.consume(h.length);
          sink.message(text);
          continue;
        }
        if (inBuffer) payload = payload.slice();
        fragments.push(payload);
        fragmentBytes += payload.length;
        if (!h.fin) break;
        const whole = fragments.length === 1 ? fragments[0]! : concat(fragments, fragmentBytes);
        const opcode = messageOpcode;
        fragments.length = 0;
        fragmentBytes = 0;
        messageOpcode = 0;
        if (inBuffer) reader.consume(h.length);
        sink.message(opcode === Opcode.Text ? decodeText(whole) : whole);
        continue;
      }
    }
    if (inBuffer) reader.consume(h.length);
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
