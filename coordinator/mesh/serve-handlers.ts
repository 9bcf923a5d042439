/**
 * Mesh API handlers of continuous serving, one per `serve-*` frame (see src/protocol/serving.ts). Signed
 * frames are verified against the caller's key; the rest act only on what the caller owns, pays for or holds.
 */
import { MeshError } from '../../src/protocol/errors.ts';
import type { Handler, ServeRequestType } from './handlers.ts';
import { requireSignature } from './signatures.ts';

/** The serving entries of the handler table. */
export const SERVE_HANDLERS: { [T in ServeRequestType]: Handler<T> } = {
  'serve-open': async (d, c, f) => {
    await requireSignature(c, 'service', f.service, f.signature);
    return await d.serving.openService(c.peerId, f.service);
  },
  'serve-join': (d, c, f) => d.serving.join(c.peerId, f.serviceId, f.budget),
  'serve-close': (d, c, f) => d.serving.closeFor(c.peerId, f.serviceId),
  'serve-status': (d, c, f) => d.serving.status(c.peerId, f.serviceId),
  'serve-receipt': async (d, c, f) => {
    await requireSignature(c, 'serve-receipt', f.receipt, f.signature);
    return await d.serving.receipt(c.peerId, f.receipt, f.signature);
  },
  'serve-renew': (d, c, f) => d.serving.renew(c.peerId, f.leaseId, f.queued, f.served),
  'serve-leave': (d, c, f) => d.serving.leave(c.peerId, f.leaseId, f.reason),
  'serve-dispute': (d, c, f) => {
    const s = d.serving.service(f.serviceId);
    if (!s) throw new MeshError('not-found', `Cannot dispute answers of service ${f.serviceId} as it does not exist`);
    return d.serving.disputes.open(s, c.peerId, f.answers);
  },
  'serve-arbitrate': (d, c, f) => {
    const s = d.serving.service(f.serviceId);
    if (!s) throw new MeshError('not-found', `Cannot decide a dispute of service ${f.serviceId} as it does not exist`);
    return d.serving.disputes.decide(s, c.peerId, f.disputeId, f.answer);
  },
};
