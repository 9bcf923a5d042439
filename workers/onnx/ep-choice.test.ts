import assert from 'node:assert/strict';
import { EpChoices, type EpChoiceStore, isEpChoice, MemoryEpChoiceStore } from './ep-choice.ts';
import { type EpChoice, epChoiceKey, PROBE_VERSION } from './ep-policy.ts';

function choice(threads = 2, ep: 'wasm' | 'webgpu' = 'wasm'): EpChoice {
  const scope = { modelHash: 'c'.repeat(64), adapter: 'none', threads };
  return { ...scope, key: epChoiceKey(scope), ep, reason: 'test', wasmMs: 12, inputDims: [[1, 3, 8, 8]], measuredAt: 1, probeVersion: PROBE_VERSION };
}

Deno.test('EpChoices.lookup() finds a recorded choice in memory', async () => {
  const choices = new EpChoices(null);
  const c = choice();
  assert.equal(await choices.lookup(c.key), undefined);
  await choices.record(c);
  assert.deepEqual(await choices.lookup(c.key), { choice: c, source: 'memory' });
});

Deno.test('EpChoices over the same store reuses a choice after a restart (source store, then memory)', async () => {
  const store = new MemoryEpChoiceStore();
  const c = choice(1, 'webgpu');
  await new EpChoices(store).record(c);
  const restarted = new EpChoices(store);
  assert.deepEqual(await restarted.lookup(c.key), { choice: c, source: 'store' });
  assert.deepEqual(await restarted.lookup(c.key), { choice: c, source: 'memory' });
  assert.equal(await restarted.lookup(choice(2).key), undefined);
});

Deno.test('EpChoices ignores stored records of another probe version or under another key', async () => {
  const store = new MemoryEpChoiceStore();
  const c = choice();
  store.map.set(c.key, { ...c, probeVersion: PROBE_VERSION + 1 });
  assert.equal(await new EpChoices(store).lookup(c.key), undefined);
  store.map.set(c.key, { ...c, key: 'other' });
  assert.equal(await new EpChoices(store).lookup(c.key), undefined);
});

Deno.test('EpChoices keeps working in memory when the store fails', async () => {
  const broken: EpChoiceStore = {
    get: () => Promise.reject(new Error('quota')),
    put: () => Promise.reject(new Error('quota')),
  };
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (msg: string) => warnings.push(msg);
  try {
    const choices = new EpChoices(broken);
    const c = choice();
    assert.equal(await choices.lookup(c.key), undefined);
    await choices.record(c);
    assert.equal((await choices.lookup(c.key))?.source, 'memory');
    assert.equal(warnings.length, 1);
  } finally {
    console.warn = warn;
  }
});

Deno.test('isEpChoice() rejects values that are not choices', () => {
  const c = choice();
  assert.ok(isEpChoice(c, c.key));
  assert.ok(!isEpChoice(undefined, c.key));
  assert.ok(!isEpChoice({ ...c, ep: 'webgl' }, c.key));
  assert.ok(!isEpChoice({ ...c, wasmMs: '12' }, c.key));
});
