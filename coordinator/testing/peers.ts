/** Higher-level test steps over MeshTestClient: a registered contributor, collecting leases, paying runs. */
import type { ContributorLease, Lease, ServerFrame } from '../../src/protocol/coordinator.ts';
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import { MeshTestClient } from './mesh-client.ts';
import { cpuCaps, hashOf } from './fixtures.ts';

/** Connects a peer and registers it as a contributor. */
export async function contributor(
  baseUrl: string,
  opts: { askPrice?: number; maxConcurrent?: number; caps?: Capabilities; from?: string } = {},
): Promise<MeshTestClient> {
  const peer = await MeshTestClient.connect(baseUrl, undefined, opts.from);
  await peer.request({ type: 'register', caps: opts.caps ?? cpuCaps(), askPrice: opts.askPrice ?? 1, maxConcurrent: opts.maxConcurrent ?? 4 });
  return peer;
}

/** Waits for `n` pushes of a type and returns them in arrival order. */
export async function collect<T extends ServerFrame['type']>(peer: MeshTestClient, type: T, n: number, timeoutMs = 5000): Promise<Extract<ServerFrame, { type: T }>[]> {
  const out: Extract<ServerFrame, { type: T }>[] = [];
  for (let i = 0; i < n; i++) out.push(await peer.next(type, timeoutMs));
  return out;
}

/** The output hash a well-behaved contributor reports for a shard (deterministic per job and shard). */
export function outputHash(lease: Pick<Lease, 'jobId' | 'shard'>, variant = ''): string {
  return hashOf(`${lease.jobId}:${lease.shard}${variant}`);
}

/** The contributor claims the lease and the client pays for it; returns the receipt result. */
export async function runAndPay(worker: MeshTestClient, client: MeshTestClient, lease: ContributorLease, workUnits: number) {
  const hash = outputHash(lease);
  await worker.claim(lease, hash);
  return client.pay(client.receiptFor(lease, hash, workUnits));
}
