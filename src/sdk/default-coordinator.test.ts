import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCoordinator, resolveModelUrl } from './default-coordinator.ts';

describe('defaultCoordinator()', () => {
  it('uses the origin the SDK module came from, not the page', () => {
    assert.equal(defaultCoordinator('https://mesh.example/sdk.js', 'https://blog.example'), 'https://mesh.example');
    assert.equal(defaultCoordinator('http://127.0.0.1:8787/assets/index-abc.js?v=1', 'http://localhost:8787'), 'http://127.0.0.1:8787');
  });

  it('falls back to the page origin when the module URL has none', () => {
    assert.equal(defaultCoordinator('blob:null/5b0c', 'https://app.example'), 'https://app.example');
    assert.equal(defaultCoordinator('file:///sdk.js', 'https://app.example'), 'https://app.example');
  });

  it('rejects when neither has an origin', () => {
    assert.throws(() => defaultCoordinator('file:///sdk.js', 'null'), TypeError);
    assert.throws(() => defaultCoordinator('file:///sdk.js', undefined), TypeError);
  });
});

describe('resolveModelUrl()', () => {
  it('resolves paths against the coordinator and keeps absolute URLs', () => {
    assert.equal(resolveModelUrl('/models/a.onnx', 'https://mesh.example'), 'https://mesh.example/models/a.onnx');
    assert.equal(resolveModelUrl('models/a.onnx', 'https://mesh.example/'), 'https://mesh.example/models/a.onnx');
    assert.equal(resolveModelUrl('https://cdn.example/b.onnx', 'https://mesh.example'), 'https://cdn.example/b.onnx');
  });
});
