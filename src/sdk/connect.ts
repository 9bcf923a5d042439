/** `connect()`: one identity's session with the mesh, as client and contributor. */
import { CoordinatorClient, type MovedDetail } from '../mesh/coordinator-client.ts';
import { coordinatorBase, coordinatorList } from '../mesh/coordinator-list.ts';
import { fetchConfig, hasRelay, type MeshConfig, rtcConfiguration } from '../mesh/config.ts';
import { PeerNetwork } from '../mesh/peer-network.ts';
import { reportRtts } from '../mesh/rtt-report.ts';
import type { BalanceResult, LinkCreditsResult } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { loadIdentity } from '../storage/identity-store.ts';
import { Client } from './client.ts';
import { Contributor } from './contributor.ts';
import { offerCredits, type SignedCreditLink, signCreditLink } from './credit-link.ts';
import { defaultCoordinator } from './default-coordinator.ts';
import { holdSession, SessionElsewhereError, type SessionHold } from './session-lock.ts';
import { JobRouter, type SessionContext } from './session.ts';
import type { ConnectOptions, LinkedDetail, Mesh } from './types.ts';

/**
 * How a session heals after its coordinator went away: it never gives up, and waits between tries 0.5 s doubling
 * to 5 s, each pause jittered down by up to half so that a restarted coordinator is not hit by every peer at once.
 */
const HEAL_POLICY = { attempts: Number.POSITIVE_INFINITY, baseMs: 500, maxMs: 5_000 };

/** The coordinators `opts` names, checked: `coordinator` first, then `coordinators`; else where the SDK came from. */
function coordinatorsOf(opts: Pick<ConnectOptions, 'coordinator' | 'coordinators'>): string[] {
  const list = opts.coordinator === undefined ? [] : [coordinatorBase(opts.coordinator, 'coordinator')];
  if (opts.coordinators !== undefined) list.push(...coordinatorList(opts.coordinators));
  if (list.length > 0) return coordinatorList(list);
  return [defaultCoordinator(import.meta.url, globalThis.location?.origin)];
}

/** Per identity slot: the session `connect()` last opened in this page, and the tail of its queue of connects. */
const current = new Map<string, MeshSession>();
const queues = new Map<string, Promise<unknown>>();

/**
 * Connects to a coordinator (the first of `coordinators` that answers) with the identity kept in IndexedDB.
 * One session per identity: a repeated `connect()` in this page closes the earlier session first, and while
 * another tab of this browser holds it this rejects with SessionElsewhereError, unless `takeover` is set.
 */
export function connect(opts: ConnectOptions = {}): Promise<Mesh> {
  let coordinators: string[];
  try {
    coordinators = coordinatorsOf(opts);
  } catch (err) {
    return Promise.reject(err);
  }
  const slot = opts.identity ?? 'default';
  const mine = (queues.get(slot) ?? Promise.resolve()).then(() => open(coordinators, slot, opts));
  const tail = mine.then(() => undefined, () => undefined);
  queues.set(slot, tail);
  void tail.then(() => {
    if (queues.get(slot) === tail) queues.delete(slot);
  });
  return mine;
}

async function open(coordinators: string[], slot: string, opts: ConnectOptions): Promise<Mesh> {
  await current.get(slot)?.close();
  const identity = await loadIdentity(slot);
  const hold = await holdSession(slot, opts.takeover ?? false);
  let session: MeshSession;
  try {
    session = await openSession(coordinators, identity, opts, hold);
  } catch (err) {
    hold.release();
    throw err;
  }
  current.set(slot, session);
  session.addEventListener('close', () => {
    if (current.get(slot) === session) current.delete(slot);
  });
  return session;
}

async function openSession(coordinators: string[], identity: SessionContext['identity'], opts: ConnectOptions, hold: SessionHold): Promise<MeshSession> {
  const coordinator = await CoordinatorClient.connect(coordinators, identity, { reconnect: HEAL_POLICY });
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
    network = await PeerNetwork.open(coordinator.base, identity, config, { rtc: rtc(), reconnect: HEAL_POLICY });
  } catch (err) {
    coordinator.close();
    throw err;
  }
  coordinator.addEventListener('welcome', () => network.setRtcConfiguration(rtc()));
  // Round trips to linked peers go to the coordinator, which matches latency budgets with them.
  const stopRtt = reportRtts(network, (peer, ms) => coordinator.request({ type: 'rtt', peer, ms }));
  network.addEventListener('close', stopRtt, { once: true });
  // Signalling follows the mesh API socket to whichever coordinator it lands on (it may have moved already).
  coordinator.addEventListener('moved', (e) => network.moveTo((e as CustomEvent<MovedDetail>).detail.to));
  if (network.base !== coordinator.base) network.moveTo(coordinator.base);
  return new MeshSession({ identity, config, coordinator, network }, hold);
}

/**
 * The Mesh `connect()` returns. Events: 'balance' (CustomEvent<{ balance }>), 'moved', 'reconnecting' (the
 * coordinator went away; the session is trying again), 'reconnected' (authenticated again), 'close'.
 */
class MeshSession extends EventTarget implements Mesh {
  readonly peerId: string;
  readonly client: Client;
  readonly contributor: Contributor;
  readonly #ctx: SessionContext;
  readonly #router: JobRouter;
  readonly #hold: SessionHold;
  #closed = false;

  constructor(ctx: Omit<SessionContext, 'balanceChanged' | 'base'>, hold: SessionHold) {
    super();
    this.#hold = hold;
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
    ctx.coordinator.addEventListener('reconnecting', () => this.dispatchEvent(new Event('reconnecting')));
    ctx.coordinator.addEventListener('welcome', () => this.dispatchEvent(new Event('reconnected')));
    // Another tab of this browser took the identity's session over: end this one before it connects.
    void hold.lost.then(() => this.#shutdown(new SessionElsewhereError('Cannot keep the session as Meshwork was opened in another tab of this browser')));
    ctx.coordinator.addEventListener('linked', (e) => {
      const detail = (e as CustomEvent<LinkedDetail>).detail;
      this.dispatchEvent(new CustomEvent<LinkedDetail>('linked', { detail }));
      this.#balanceChanged(detail.balance);
    });
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

  /** 'open', 'reconnecting' (the coordinator went away and the session is trying again) or 'closed'. */
  get connection(): 'open' | 'reconnecting' | 'closed' {
    return this.#closed ? 'closed' : this.#ctx.coordinator.state;
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

  /** Opens the app at `app` (default: this coordinator's) to move this identity's credits there (see credit-link.ts). */
  offerCredits(app: string = this.coordinator, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LinkCreditsResult> {
    const c = this.#ctx.coordinator;
    return offerCredits({
      identity: this.#ctx.identity,
      request: (body) => c.request(body),
      open: (url) => globalThis.open?.(url, '_blank'),
      site: globalThis.location?.origin ?? '',
    }, app, opts);
  }

  /** Names this identity as the receiver of the credits an embed offers under `code` ('linked' follows). */
  async acceptCredits(code: string): Promise<void> {
    const { claimed } = await this.#ctx.coordinator.request<{ claimed: boolean }>({ type: 'link-target', code });
    if (!claimed) throw new MeshError('conflict', 'Cannot receive these credits as another identity already accepted them');
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
    this.#hold.release();
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
