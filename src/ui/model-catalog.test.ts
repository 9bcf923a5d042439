import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelEntry } from './model-catalog.ts';

const good = {
  id: 'ppocr-det-v4',
  name: 'PP-OCRv4 text detector',
  url: '/models/ppocr-det-v4.onnx',
  hash: 'a'.repeat(64),
  bytes: 4745517,
  input: { name: 'x', dims: [-1, 3, -1, -1] },
  outputs: ['sigmoid_0.tmp_0'],
  license: 'Apache-2.0',
};

describe('model-catalog', () => {
  it('parseModelEntry() accepts a well-formed entry unchanged', () => {
    assert.deepEqual(parseModelEntry(good), good);
  });

  it('parseModelEntry() names the malformed field and its value', () => {
    assert.throws(() => parseModelEntry({ ...good, hash: 'xyz' }, '[0]'), /'\[0\]\.hash' is malformed: current value is "xyz"/);
    assert.throws(() => parseModelEntry({ ...good, outputs: [] }), /'entry\.outputs'/);
    assert.throws(() => parseModelEntry({ ...good, input: { name: 'x', dims: [1.5] } }), /'entry\.input\.dims'/);
    assert.throws(() => parseModelEntry(null), TypeError);
  });
});
