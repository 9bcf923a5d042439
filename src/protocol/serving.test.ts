import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFrame } from './coordinator.ts';
import { parsePeerFrame } from './peer.ts';
import { MAX_SERVE_BATCH, type ServiceSpec } from './serving.ts';
import { ValidationError } from './validate.ts';

const hash = 'b'.repeat(64);
const spec: ServiceSpec = {
  kernel: { kind: 'onnx', model: { hash, bytes: 100 }, outputs: ['y'] },
  maxBatch: 8,
  maxWaitMs: 2,
  replicas: 2,
  bid: 2,
  budget: 1000,
  shared: true,
  ttlMs: 60_000,
  nonce: 'n1',
};
const answer = { claim: { serviceId: 'sv1', leaseId: 'sv1-1', req: 'r1', inputHash: hash, outputHash: hash }, key: 'k'.repeat(43), signature: 's'.repeat(86) };

describe('serving frames', () => {
  it('accept a well-formed service, receipt, renew and dispute', () => {
    assert.equal(parseClientFrame({ type: 'serve-open', rid: 1, service: spec, signature: 'sig' }).type, 'serve-open');
    const receipt = { serviceId: 'sv1', leaseId: 'sv1-1', contributor: 'mw' + 'a'.repeat(40), requests: 3, workUnits: 3000 };
    assert.equal(parseClientFrame({ type: 'serve-receipt', rid: 2, receipt, signature: 'sig' }).type, 'serve-receipt');
    assert.equal(parseClientFrame({ type: 'serve-renew', rid: 3, leaseId: 'sv1-1', queued: 4, served: 10 }).type, 'serve-renew');
    assert.equal(parseClientFrame({ type: 'serve-dispute', rid: 4, serviceId: 'sv1', answers: [answer, answer] }).type, 'serve-dispute');
  });

  it('refuse what a hostile sender would try: oversized batches, too many replicas, unknown fields, a forged shape', () => {
    const bad: unknown[] = [
      { type: 'serve-open', rid: 1, service: { ...spec, maxBatch: MAX_SERVE_BATCH + 1 }, signature: 'sig' },
      { type: 'serve-open', rid: 1, service: { ...spec, replicas: 9 }, signature: 'sig' },
      { type: 'serve-open', rid: 1, service: { ...spec, maxWaitMs: 5000 }, signature: 'sig' },
      { type: 'serve-open', rid: 1, service: { ...spec, kernel: { kind: 'matmul' } }, signature: 'sig' },
      { type: 'serve-open', rid: 1, service: { ...spec, extra: 1 }, signature: 'sig' },
      { type: 'serve-receipt', rid: 1, receipt: { serviceId: 'sv1', leaseId: 'l', contributor: 'nobody', requests: 1, workUnits: 1 }, signature: 'sig' },
      { type: 'serve-receipt', rid: 1, receipt: { serviceId: 'sv1', leaseId: 'l', contributor: 'mw' + 'a'.repeat(40), requests: 0, workUnits: 1 }, signature: 'sig' },
      { type: 'serve-dispute', rid: 1, serviceId: 'sv1', answers: [answer] },
      { type: 'serve-dispute', rid: 1, serviceId: 'sv1', answers: [answer, { ...answer, key: 'short' }] },
      { type: 'serve-renew', rid: 1, leaseId: 'x', queued: -1, served: 0 },
    ];
    for (const frame of bad) assert.throws(() => parseClientFrame(frame), ValidationError, JSON.stringify(frame).slice(0, 120));
  });

  it('peer frames: infer, answer and busy validate; oversized or malformed ones do not', () => {
    const tensor = { name: 'x', dtype: 'float32', dims: [2, 3] };
    assert.equal(parsePeerFrame({ type: 'infer', leaseId: 'r1', lease: 'sv1-1', inputs: [tensor] }).type, 'infer');
    assert.equal(parsePeerFrame({ type: 'answer', leaseId: 'r1', outputs: [tensor], answer, batch: 4, queued: 0 }).type, 'answer');
    assert.equal(parsePeerFrame({ type: 'busy', leaseId: 'r1', reason: 'queue-full', retryAfterMs: 20 }).type, 'busy');
    const bad: unknown[] = [
      { type: 'infer', leaseId: 'r1', lease: 'sv1-1', inputs: Array.from({ length: 17 }, () => tensor) },
      { type: 'infer', leaseId: 'r1', lease: 'sv1-1', inputs: [] },
      { type: 'infer', leaseId: 'r 1', lease: 'sv1-1', inputs: [tensor] },
      { type: 'answer', leaseId: 'r1', outputs: [tensor], answer, batch: MAX_SERVE_BATCH + 1, queued: 0 },
      { type: 'busy', leaseId: 'r1', reason: 'tired', retryAfterMs: 20 },
      { type: 'busy', leaseId: 'r1', reason: 'queue-full', retryAfterMs: 3_600_000 },
    ];
    for (const frame of bad) assert.throws(() => parsePeerFrame(frame), ValidationError, JSON.stringify(frame).slice(0, 120));
  });
});
