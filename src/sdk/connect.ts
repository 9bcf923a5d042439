/** `connect()`: one identity's session with the mesh, as client and contributor. */
import { CoordinatorClient, type MovedDetail } from '../mesh/coordinator-client.ts';
import { coordinatorBase, coordinatorList } from '../mesh/coordinator-list.ts';
import { fetchConfig, hasRelay, type MeshConfig, rtcConfiguration } from '../mesh/config.ts';
import { PeerNetwork } from '../mesh/peer-network.ts';
import type { BalanceResult, LinkCreditsResult } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { loadIdentity } from '../storage/identity-store.ts';
import { Client } from './client.ts';
import { Contributor } from './contributor.ts';
import { type SignedCreditLink, signCreditLink } from './credit-link.ts';
import { JobRouter, type SessionContext } from './session.ts';
import type { ConnectOptions, Mesh } from './types.ts';

/** The coordinators `opts` names, checked: `coordinator` first, then `coordinators`; else the page's origin. */
function coordinatorsOf(opts: Pick<ConnectOptions, 'coordinator' | 'coordinators'>): string[] {
  const list = opts.coordinator === undefined ? [] : [coordinatorBase(opts.coordinator, 'coordinator')];
  if (opts.coordinators !== undefined) list.push(...coordinatorList(opts.coordinators));
  if (list.length > 0) return coordinatorList(list);
  const origin = globalThis.location?.origin;
  if (!origin || origin === 'null') throw new TypeError(`Cannot connect as no coordinator URL was given and the page has no origin: current value is ${String(origin)}`);
  return [coordinatorBase(origin, 'location.origin')];
}

/** Connects to a coordinator (the first of `coordinators` that answers) with the identity kept in IndexedDB. */
export async function connect(opts: ConnectOptions = {}): Promise<Mesh> {
  const coordinators = coordinatorsOf(opts);
  const identity = await loadIdentity(opts.identity ?? 'default');
  const coordinator = await CoordinatorClient.connect(coordinators, identity);
  let config: MeshConfig;
  let network: PeerNetwork;
  let rtc: () => RTCConfiguration;
  try {
    // One cluster, one config: the one of the coordinator that answered first serves for all.
    config = await fetchConfig(coordinator.base);
    // The relay's credentials come with every welcome, fresh on each (re)authentication.
    const relayOnly = opts.relayOnly ?? false;
    rtc = () => rtcConfiguration(config, coordinator.welcome.iceServers, relayOnly);
    const servers = rtc().iceServers ?? [];
    if (relayOnly && !hasRelay(servers)) {
      throw new TypeError(`Cannot connect with 'relayOnly' as the coordinator at ${coordinator.base} offers no TURN relay: current iceServers are ${JSON.stringify(servers.map((s) => s.urls))}`);
    }
    network = await PeerNetwork.open(coordinator.base, identity, config, { rtc: rtc() });
  } catch (err) {
    coordinator.close();
    throw err;
  }
  coordinator.addEventListener('welcome', () => network.setRtcConfiguration(rtc()));
  // Signalling follows the mesh API socket to whichever coordinator it lands on (it may have moved already).
  coordinator.addEventListener('moved', (e) => network.moveTo((e as CustomEvent<MovedDetail>).detail.to));
  if (network.base !== coordinator.base) network.moveTo(coordinator.base);
  return new MeshSession({ identity, config, coordinator, network });
}

/** The Mesh `connect()` returns. Events: 'balance' (CustomEvent<{ balance }>), 'moved', 'close'. */
class MeshSession extends EventTarget implements Mesh {
  readonly peerId: string;
  readonly client: Client;
  readonly contributor: Contributor;
  readonly #ctx: SessionContext;
  readonly #router: JobRouter;
  #closed = false;

  constructor(ctx: Omit<SessionContext, 'balanceChanged' | 'base'>) {
    super();
    const { coordinator } = ctx;
    this.#ctx = {
      ...ctx,
      // Assets (worker scripts) come from the coordinator in use, which may change.
      get base() {
        return coordinator.base;
      },
      balanceChanged: (balance?: number) => this.#balanceChanged(balance),
    };
    this.peerId = ctx.identity.peerId;
    this.#router = new JobRouter(ctx.coordinator);
    this.client = new Client(this.#ctx, this.#router);
    this.contributor = new Contributor(this.#ctx);
    const lost = (e: Event) => void this.#shutdown((e as CustomEvent<{ error?: Error }>).detail?.error);
    ctx.coordinator.addEventListener('close', lost);
    ctx.network.addEventListener('close', lost);
    ctx.coordinator.addEventListener('welcome', (e) => this.#balanceChanged((e as CustomEvent<{ balance: number }>).detail.balance));
    ctx.coordinator.addEventListener('moved', (e) => this.dispatchEvent(new CustomEvent<MovedDetail>('moved', { detail: (e as CustomEvent<MovedDetail>).detail })));
    // A contributor that left will not finish what it claimed: fail its links now so those leases are
    // rejected and requeued instead of waiting out the transfer timeout.
    ctx.coordinator.addEventListener('peer-left', (e) => {
      const { peerId } = (e as CustomEvent<{ peerId: string }>).detail;
      const error = new MeshError('transfer-failed', `Cannot finish transfers with ${peerId} as it left the mesh`);
      for (const link of ctx.network.linksTo(peerId)) link.close(error);
    });
  }

  /** Base URL of the coordinator in use. */
  get coordinator(): string {
    return this.#ctx.coordinator.base;
  }

  /** This peer's balance in micro-credits. */
  async balance(): Promise<number> {
    const res = await this.#ctx.coordinator.request<BalanceResult>({ type: 'balance' });
    this.dispatchEvent(new CustomEvent('balance', { detail: { balance: res.balance } }));
    return res.balance;
  }

  /** Signs a link handing everything this identity holds to identity `to`. */
  signCreditLink(to: string): Promise<SignedCreditLink> {
    return signCreditLink(this.#ctx.identity, to);
  }

  /** Presents a link another identity signed to this one; its credits move here once. */
  async claimCredits(signed: SignedCreditLink): Promise<LinkCreditsResult> {
    const res = await this.#ctx.coordinator.request<LinkCreditsResult>({ type: 'link', link: signed.link, signature: signed.signature });
    this.#balanceChanged(res.balance);
    return res;
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
