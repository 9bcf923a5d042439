import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NOTIFY_PAYLOAD_BYTES, PartsDecoder, PartsEncoder } from './_pg-parts.ts';
import { utf8Length } from './_message.ts';
import { channelOf } from './postgres.ts';

const bytesOf = (s: string) => new TextEncoder().encode(s).byteLength;

describe('NOTIFY payloads', () => {
  it('keeps small text whole and unique per send, and splits the rest under the cap', () => {
    const enc = new PartsEncoder('tagA');
    const same = [enc.encode('{"a":1}', 7), enc.encode('{"a":1}', 7)];
    assert.equal(same[0]!.length, 1);
    assert.notEqual(same[0]![0], same[1]![0]); // NOTIFY folds identical payloads of one transaction
    const big = 'ü'.repeat(30_000);
    const parts = enc.encode(big, utf8Length(big));
    assert.ok(parts.length > 1);
    for (const p of parts) assert.ok(bytesOf(p) < NOTIFY_PAYLOAD_BYTES, `part of ${bytesOf(p)} bytes`);
    const dec = new PartsDecoder(1 << 20);
    const out = parts.map((p) => dec.decode(p));
    assert.ok(out.slice(0, -1).every((d) => 'incomplete' in d));
    assert.deepEqual(out.at(-1), { payload: big, size: utf8Length(big) });
  });

  it('reassembles interleaved senders and drops malformed or mismatched parts with a reason', () => {
    const [a, b] = [new PartsEncoder('a'), new PartsEncoder('b')];
    const bin = crypto.getRandomValues(new Uint8Array(20_000));
    const pa = a.encode(bin, bin.byteLength);
    const pb = b.encode('x'.repeat(9_000), 9_000);
    const dec = new PartsDecoder(1 << 20);
    const done: unknown[] = [];
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      for (const p of [pa[i], pb[i]]) {
        if (!p) continue;
        const d = dec.decode(p);
        if ('payload' in d) done.push(d.payload);
      }
    }
    assert.equal(done.length, 2);
    assert.ok(done.some((d) => d instanceof Uint8Array && d.every((v, i) => v === bin[i])));
    assert.ok('error' in dec.decode('garbage'));
    assert.ok('error' in dec.decode('p1|a.0.9.2.t|AAAA'));
    assert.ok('error' in new PartsDecoder(10).decode(a.encode(new Uint8Array(100), 100)[0]!));
  });

  it('maps long subjects to distinct channels of at most 63 bytes', () => {
    const long = (c: string) => `mw.sig.to.${c.repeat(64)}`;
    assert.equal(channelOf('mw.sig.peers'), 'mw.sig.peers');
    assert.ok(channelOf(long('a')).length <= 63);
    assert.notEqual(channelOf(long('a')), channelOf(`${long('a').slice(0, -1)}b`));
  });
});
