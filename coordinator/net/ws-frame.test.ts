import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkClientHeader, closePayload, decodeText, encodeFrame, FrameError, frameHeader, parseClosePayload, parseFrameHeader, unmask } from './ws-frame.ts';

describe('ws-frame', () => {
  it('parseFrameHeader() waits for a whole header and reads 7-, 16- and 64-bit lengths', () => {
    assert.equal(parseFrameHeader(new Uint8Array([0x81])), null);
    assert.equal(parseFrameHeader(new Uint8Array([0x81, 0x85, 1, 2])), null, 'mask key incomplete');
    const small = parseFrameHeader(new Uint8Array([0x81, 0x85, 1, 2, 3, 4]))!;
    assert.deepEqual([small.fin, small.opcode, small.length, small.headerLength, [...small.mask!]], [true, 1, 5, 6, [1, 2, 3, 4]]);
    assert.equal(parseFrameHeader(new Uint8Array([0x02, 0xfe, 0x01, 0x00, 0, 0, 0, 0]))!.length, 256);
    const huge = parseFrameHeader(new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0x04, 0, 0, 0, 9, 9, 9, 9]))!;
    assert.deepEqual([huge.length, huge.headerLength], [64 * 1024 * 1024, 14]);
    assert.throws(() => parseFrameHeader(new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0])), FrameError);
  });

  it('checkClientHeader() enforces masking, RSV bits, opcodes and control-frame rules', () => {
    const header = (b0: number, b1: number) => parseFrameHeader(new Uint8Array([b0, b1, 0, 0, 0, 0]))!;
    assert.doesNotThrow(() => checkClientHeader(header(0x81, 0x80)));
    for (const [b0, b1, what] of [[0x81, 0x00, 'unmasked'], [0xc1, 0x80, 'rsv1'], [0x83, 0x80, 'opcode 3'], [0x8b, 0x80, 'opcode 11'], [0x09, 0x80, 'fragmented ping']] as const) {
      assert.throws(() => checkClientHeader(header(b0, b1)), (e: FrameError) => e.code === 1002, what);
    }
    assert.throws(() => checkClientHeader(parseFrameHeader(new Uint8Array([0x89, 0xfe, 0, 126, 0, 0, 0, 0]))!), /over 125 bytes/);
  });

  it('unmask() matches the byte-wise definition at every length and alignment', () => {
    const mask = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    for (const len of [0, 1, 3, 4, 31, 32, 33, 1000]) {
      for (const offset of [0, 1]) {
        const data = new Uint8Array(len + offset).map((_, i) => i * 13).subarray(offset);
        const want = data.map((b, i) => b ^ mask[i % 4]!);
        unmask(data, mask);
        assert.deepEqual(data, want, `len ${len} offset ${offset}`);
      }
    }
  });

  it('frameHeader()/encodeFrame() pick the shortest length encoding', () => {
    assert.deepEqual([...frameHeader(1, 125)], [0x81, 125]);
    assert.deepEqual([...frameHeader(2, 126)], [0x82, 126, 0, 126]);
    assert.deepEqual([...frameHeader(2, 65536)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual([...frameHeader(2, 2 ** 32 + 5)], [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
    assert.deepEqual([...encodeFrame(0xa, new Uint8Array([7]))], [0x8a, 1, 7]);
  });

  it('close payloads round-trip, and invalid codes, 1-byte payloads and bad UTF-8 are refused', () => {
    assert.deepEqual(parseClosePayload(closePayload(4000, 'bye ✓')), { code: 4000, reason: 'bye ✓' });
    assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: '' });
    assert.throws(() => parseClosePayload(new Uint8Array([3])), (e: FrameError) => e.code === 1002);
    assert.throws(() => parseClosePayload(closePayload(1005)), (e: FrameError) => e.code === 1002);
    assert.throws(() => parseClosePayload(new Uint8Array([0x03, 0xe8, 0xff])), (e: FrameError) => e.code === 1007);
    assert.throws(() => decodeText(new Uint8Array([0xed, 0xa0, 0x80])), (e: FrameError) => e.code === 1007, 'surrogate');
    assert.equal(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), '\ufeffA', 'a BOM is kept');
  });
});
