/**
 * RFC 6455 framing, as pure functions over bytes: header parsing (so a size limit can be applied before any
 * payload is read), unmasking, server frame encoding (servers never mask) and close payloads. No I/O here.
 */

/** Frame opcodes (RFC 6455 section 5.2). */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** Close codes this server sends (RFC 6455 section 7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidData: 1007,
  PolicyViolation: 1008,
  TooBig: 1009,
  InternalError: 1011,
} as const;

/** A parsed frame header; `length` may exceed what fits in memory (it is only compared against limits). */
export interface FrameHeader {
  fin: boolean;
  /** RSV1-3 bits; must be 0 as no extension is negotiated. */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Declared payload length in bytes (up to 2^63; beyond 2^53 it is approximate, which no limit cares about). */
  length: number;
  /** Bytes taken by the header, including the mask key. */
  headerLength: number;
  /** The 4-byte masking key (copied out of the input), or null when unmasked. */
  mask: readonly number[] | null;
}

/** A violation that ends the connection with `code`. */
export class FrameError extends Error {
  override name = 'FrameError';
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Parses the header at the start of `buf`; null when `buf` does not hold the whole header yet. */
export function parseFrameHeader(buf: Uint8Array): FrameHeader | null {
  if (buf.length < 2) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const masked = (b1 & 0x80) !== 0;
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return null;
    length = (buf[2]! << 8) | buf[3]!;
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return null;
    const hi = ((buf[2]! << 24) >>> 0) + (buf[3]! << 16) + (buf[4]! << 8) + buf[5]!;
    if (hi >= 0x80000000) throw new FrameError(CloseCode.ProtocolError, `Cannot read a frame as its 64-bit length has the top bit set: current value is 0x${hi.toString(16)}...`);
    const lo = ((buf[6]! << 24) >>> 0) + (buf[7]! << 16) + (buf[8]! << 8) + buf[9]!;
    length = hi * 2 ** 32 + lo;
    offset = 10;
  }
  const headerLength = offset + (masked ? 4 : 0);
  if (buf.length < headerLength) return null;
  return {
    fin: (b0 & 0x80) !== 0,
    rsv: (b0 >> 4) & 0x7,
    opcode: b0 & 0x0f,
    masked,
    length,
    headerLength,
    mask: masked ? [buf[offset]!, buf[offset + 1]!, buf[offset + 2]!, buf[offset + 3]!] : null,
  };
}

/** Checks the rules that hold for every client frame, before its payload is read. */
export function checkClientHeader(h: FrameHeader): void {
  if (h.rsv !== 0) throw new FrameError(CloseCode.ProtocolError, `Cannot read a frame with RSV bits set as no extension was negotiated: current value is ${h.rsv}`);
  if (!h.masked) throw new FrameError(CloseCode.ProtocolError, 'Cannot read an unmasked frame as clients must mask every frame');
  const control = h.opcode >= 0x8;
  if (control) {
    if (h.opcode > Opcode.Pong) throw new FrameError(CloseCode.ProtocolError, `Cannot read a frame with a reserved opcode: current value is ${h.opcode}`);
    if (!h.fin) throw new FrameError(CloseCode.ProtocolError, `Cannot read a fragmented control frame: opcode is ${h.opcode}`);
    if (h.length > 125) throw new FrameError(CloseCode.ProtocolError, `Cannot read a control frame over 125 bytes: current value is ${h.length}`);
  } else if (h.opcode > Opcode.Binary) {
    throw new FrameError(CloseCode.ProtocolError, `Cannot read a frame with a reserved opcode: current value is ${h.opcode}`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** XORs `data` in place with the 4-byte `mask`, four bytes at a time where alignment allows. */
export function unmask(data: Uint8Array, mask: ArrayLike<number>): void {
  const m0 = mask[0]!, m1 = mask[1]!, m2 = mask[2]!, m3 = mask[3]!;
  let i = 0;
  if (data.byteOffset % 4 === 0 && data.length >= 256) {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
    const key = LITTLE_ENDIAN ? (m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)) : ((m0 << 24) | (m1 << 16) | (m2 << 8) | m3);
    for (let w = 0; w < words.length; w++) words[w]! ^= key;
    i = words.length << 2;
  }
  for (; i < data.length; i++) data[i]! ^= (i & 3) === 0 ? m0 : (i & 3) === 1 ? m1 : (i & 3) === 2 ? m2 : m3;
}

/** Bytes a server frame header takes for a payload of `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes the header of an unmasked, final server frame at the start of `out`; returns its length. */
export function putHeader(out: Uint8Array, opcode: number, length: number): number {
  out[0] = 0x80 | opcode;
  if (length < 126) {
    out[1] = length;
    return 2;
  }
  if (length < 65536) {
    out[1] = 126;
    out[2] = length >> 8;
    out[3] = length & 0xff;
    return 4;
  }
  out[1] = 127;
  const hi = Math.floor(length / 2 ** 32);
  const lo = length >>> 0;
  for (let i = 0; i < 4; i++) {
    out[2 + i] = (hi >>> (24 - 8 * i)) & 0xff;
    out[6 + i] = (lo >>> (24 - 8 * i)) & 0xff;
  }
  return 10;
}

/** The header of an unmasked, final server frame carrying `length` payload bytes. */
export function frameHeader(opcode: number, length: number): Uint8Array {
  const h = new Uint8Array(headerLength(length));
  putHeader(h, opcode, length);
  return h;
}

/** One server frame as a single buffer (header and payload copied together). */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerLength(payload.length) + payload.length);
  out.set(payload, putHeader(out, opcode, payload.length));
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 text strictly; throws FrameError 1007 on invalid bytes. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new FrameError(CloseCode.InvalidData, `Cannot decode a text message of ${bytes.length} bytes as it is not valid UTF-8`);
  }
}

/** Whether a close code may appear on the wire (RFC 6455 section 7.4 and the IANA registry). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** The payload of a close frame; `code` undefined sends an empty one. */
export function closePayload(code: number | undefined, reason = ''): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const text = encoder.encode(reason);
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/** Reads a received close payload; throws FrameError 1002/1007 on a malformed one. */
export function parseClosePayload(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: '' };
  if (payload.length === 1) throw new FrameError(CloseCode.ProtocolError, 'Cannot read a close frame with a 1-byte payload');
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) throw new FrameError(CloseCode.ProtocolError, `Cannot accept a close frame with an invalid code: current value is ${code}`);
  return { code, reason: decodeText(payload.subarray(2)) };
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
