/** `connect()`: one identity's session with the mesh, as client and contributor. */
import { CoordinatorClient } from '../mesh/coordinator-client.ts';
import { fetchConfig, hasRelay, rtcConfiguration } from '../mesh/config.ts';
import { PeerNetwork } from '../mesh/peer-network.ts';
import type { BalanceResult } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { loadIdentity } from '../storage/identity-store.ts';
import { Client } from './client.ts';
import { Contributor } from './contributor.ts';
import { JobRouter, type SessionContext } from './session.ts';
import type { ConnectOptions, Mesh } from './types.ts';

/** Connects to a coordinator with the identity kept in IndexedDB (created on first use). */
export async function connect(opts: ConnectOptions = {}): Promise<Mesh> {
  const base = opts.coordinator ?? globalThis.location?.origin;
  if (!base) throw new TypeError('Cannot connect as no coordinator URL was given and the page has no origin: current value is undefined');
  const identity = await loadIdentity(opts.identity ?? 'default');
  const config = await fetchConfig(base);
  const coordinator = await CoordinatorClient.connect(base, identity);
  // The relay's credentials come with every welcome, fresh on each (re)authentication.
  const relayOnly = opts.relayOnly ?? false;
  const rtc = () => rtcConfiguration(config, coordinator.welcome.iceServers, relayOnly);
  let network: PeerNetwork;
  try {
    const servers = rtc().iceServers ?? [];
    if (relayOnly && !hasRelay(servers)) {
      throw new TypeError(`Cannot connect with 'relayOnly' as the coordinator at ${String(base)} offers no TURN relay: current iceServers are ${JSON.stringify(servers.map((s) => s.urls))}`);
    }
    network = await PeerNetwork.open(base, identity, config, { rtc: rtc() });
  } catch (err) {
    coordinator.close();
    throw err;
  }
  coordinator.addEventListener('welcome', () => network.setRtcConfiguration(rtc()));
  return new MeshSession({ base, identity, config, coordinator, network });
}

/** The Mesh `connect()` returns. Events: 'balance' (CustomEvent<{ balance }>), 'close'. */
class MeshSession extends EventTarget implements Mesh {
  readonly peerId: string;
  readonly client: Client;
  readonly contributor: Contributor;
  readonly #ctx: SessionContext;
  readonly #router: JobRouter;
  #closed = false;

  constructor(ctx: Omit<SessionContext, 'balanceChanged'>) {
    super();
    this.#ctx = { ...ctx, balanceChanged: (balance?: number) => this.#balanceChanged(balance) };
    this.peerId = ctx.identity.peerId;
    this.#router = new JobRouter(ctx.coordinator);
    this.client = new Client(this.#ctx, this.#router);
    this.contributor = new Contributor(this.#ctx);
    const lost = (e: Event) => void this.#shutdown((e as CustomEvent<{ error?: Error }>).detail?.error);
    ctx.coordinator.addEventListener('close', lost);
    ctx.network.addEventListener('close', lost);
    ctx.coordinator.addEventListener('welcome', (e) => this.#balanceChanged((e as CustomEvent<{ balance: number }>).detail.balance));
    // A contributor that left will not finish what it claimed: fail its links now so those leases are
    // rejected and requeued instead of waiting out the transfer timeout.
    ctx.coordinator.addEventListener('peer-left', (e) => {
      const { peerId } = (e as CustomEvent<{ peerId: string }>).detail;
      const error = new MeshError('transfer-failed', `Cannot finish transfers with ${peerId} as it left the mesh`);
      for (const link of ctx.network.linksTo(peerId)) link.close(error);
    });
  }

  /** This peer's balance in micro-credits. */
  async balance(): Promise<number> {
    const res = await this.#ctx.coordinator.request<BalanceResult>({ type: 'balance' });
    this.dispatchEvent(new CustomEvent('balance', { detail: { balance: res.balance } }));
    return res.balance;
  }

  /** Stops contributing, fails running jobs and closes both connections. */
  close(): Promise<void> {
    return this.#shutdown(undefined);
  }

  async #shutdown(error: Error | undefined): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.contributor.stop();
    this.client.abandonAll(error ?? new MeshError('cancelled', 'Cannot finish the job as the mesh connection was closed'));
    this.#router.clear();
    this.#ctx.network.close(error);
    this.#ctx.coordinator.close();
    this.dispatchEvent(new CustomEvent('close', { detail: { error } }));
  }

  #balanceChanged(balance: number | undefined): void {
    if (this.#closed) return;
    if (balance === undefined) {
      this.balance().catch(() => {});
      return;
    }
    this.dispatchEvent(new CustomEvent('balance', { detail: { balance } }));
  }
}
