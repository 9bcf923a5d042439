/** Test steps of continuous serving over MeshTestClient: signed services, receipts and answers. */
import { signedText } from '../../src/protocol/coordinator.ts';
import type { AnswerClaim, ServeLease, ServeOpenResult, ServeReceipt, ServiceSpec, SignedAnswer } from '../../src/protocol/serving.ts';
import { hashOf } from './fixtures.ts';
import type { MeshTestClient } from './mesh-client.ts';

/** A service spec like the SDK's, for the test model. */
export function serviceSpec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    kernel: { kind: 'onnx', model: { hash: hashOf('model'), bytes: 4096, url: '/models/test.onnx' }, outputs: ['y'] },
    maxBatch: 8,
    maxWaitMs: 2,
    replicas: 1,
    bid: 2,
    budget: 1_000_000,
    shared: false,
    ttlMs: 600_000,
    nonce: crypto.randomUUID(),
    ...over,
  };
}

/** Signs and opens a service. */
export async function openService(client: MeshTestClient, spec: ServiceSpec): Promise<ServeOpenResult> {
  return client.request<ServeOpenResult>({ type: 'serve-open', service: spec, signature: await client.identity.sign(signedText('service', spec)) });
}

/** Signs and sends a cumulative receipt for a replica lease. */
export async function payServe(client: MeshTestClient, lease: ServeLease, requests: number, workUnits: number, signer: MeshTestClient = client) {
  const receipt: ServeReceipt = { serviceId: lease.serviceId, leaseId: lease.leaseId, contributor: lease.contributor, requests, workUnits };
  return client.request<{ paid: boolean; amount: number; fee: number }>({ type: 'serve-receipt', receipt, signature: await signer.identity.sign(signedText('serve-receipt', receipt)) });
}

/** An answer to input `input` with output `output`, signed by `signer` (the replica's contributor, or a forger). */
export async function signedAnswer(signer: MeshTestClient, lease: ServeLease, req: string, input: string, output: string): Promise<SignedAnswer> {
  const claim: AnswerClaim = { serviceId: lease.serviceId, leaseId: lease.leaseId, req, inputHash: hashOf(input), outputHash: hashOf(output) };
  return { claim, key: signer.identity.publicKey, signature: await signer.identity.sign(signedText('answer', claim)) };
}
