import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readEmbedConfig } from './embed-config.ts';

const MODULE = 'https://cdn.example/embed.js';

describe('readEmbedConfig()', () => {
  it('defaults the coordinator to the origin the script came from', () => {
    const config = readEmbedConfig({}, MODULE);
    assert.deepEqual(config, { coordinator: 'https://cdn.example', coordinators: ['https://cdn.example'], cpuCap: 0.25, gpuCap: 0.25, askPrice: 1 });
  });

  it('reads data-coordinators separated by commas or whitespace, after data-coordinator, without duplicates', () => {
    const config = readEmbedConfig({ coordinator: 'https://a.example/ignored/path', coordinators: ' https://b.example,https://c.example/app/\n https://a.example ' }, MODULE);
    assert.deepEqual(config.coordinators, ['https://a.example', 'https://b.example', 'https://c.example/app']);
    assert.equal(config.coordinator, 'https://a.example');
    assert.deepEqual(readEmbedConfig({ coordinators: 'https://b.example https://c.example' }, MODULE).coordinators, ['https://b.example', 'https://c.example']);
  });

  it('names the bad entry', () => {
    assert.throws(() => readEmbedConfig({ coordinators: 'https://b.example, ftp://x' }, MODULE), { name: 'TypeError', message: /'data-coordinators\[1\]' as it must be an http\(s\) URL: current value is 'ftp:\/\/x'/ });
    assert.throws(() => readEmbedConfig({ coordinator: 'nope' }, MODULE), { name: 'TypeError', message: /'data-coordinator'/ });
    assert.throws(() => readEmbedConfig({ cpuCap: '2' }, MODULE), RangeError);
  });
});
