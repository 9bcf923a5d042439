/**
 * The contributor's side of pipeline activations: outputs of pipeline stage leases are kept for the next stage
 * (activation-store.ts), the coordinator's 'serve' pushes grant a peer their pulls and its 'forget' pushes drop
 * them, and peers' 'pull' requests are answered by the activation server (pipe-transfer.ts).
 */
import type { PushFrame } from '../mesh/coordinator-client.ts';
import type { PullRequest } from '../mesh/peer-link.ts';
import { ActivationStore } from './activation-store.ts';
import { ActivationServer } from './pipe-transfer.ts';
import type { SessionContext } from './session.ts';

/** Most lease ids one 'forget' push may drop. */
const MAX_FORGET = 1024;

/** Creates the contributor's activation store and wires its pushes and pulls on `ctx`'s coordinator and network. */
export function wireActivations(ctx: SessionContext): ActivationStore {
  const activations = new ActivationStore();
  const server = new ActivationServer(activations);
  ctx.network.addEventListener('pull', (e) => void server.serve((e as CustomEvent<PullRequest>).detail));
  ctx.coordinator.addEventListener('serve', (e) => {
    const { leaseId, peer } = (e as CustomEvent<Extract<PushFrame, { type: 'serve' }>>).detail;
    if (typeof leaseId === 'string' && typeof peer === 'string') activations.grant(leaseId, peer);
  });
  ctx.coordinator.addEventListener('forget', (e) => {
    const { leaseIds } = (e as CustomEvent<Extract<PushFrame, { type: 'forget' }>>).detail;
    if (Array.isArray(leaseIds)) activations.forget(leaseIds.filter((id): id is string => typeof id === 'string').slice(0, MAX_FORGET));
  });
  return activations;
}
