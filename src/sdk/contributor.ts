/**
 * Donating this browser's cycles: start a compute pool, register measured capabilities and an ask price,
 * and run leases the coordinator assigns when their client connects. A lease starts only when the coordinator
 * assigned it to us AND the link's remote peer is that lease's client, so nobody can make us compute for free.
 * Repeated compute faults, or the coordinator's 'paused' push, pause it with a reason (`pausedBy`); it then
 * heals and resumes on its own (self-heal.ts). Outputs it was paid for are kept (result-keeper.ts), so a lease the
 * coordinator marks `cached` is answered from them without running the kernel.
 */
import { ComputePool, type FaultDetail } from '../compute/index.ts';
import { DEFAULT_ASK_PRICE } from '../core/cost.ts';
import type { PushFrame } from '../mesh/coordinator-client.ts';
import type { ShardRequest } from '../mesh/peer-link.ts';
import type { ActivationStore } from './activation-store.ts';
import { wireActivations } from './activation-wiring.ts';
import { AssignBook } from './assign-book.ts';
import { type Capabilities, MAX_MODEL_MEMORY_MB, MIN_MODEL_MEMORY_MB } from '../protocol/capabilities.ts';
import { parseContributorLease } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { ModelCache } from '../storage/model-cache.ts';
import { DEFAULT_RESULT_BOUNDS, ResultStore } from '../storage/result-store.ts';
import { recordReceipt } from '../storage/receipt-log.ts';
import { type AssignFrame, LeaseRunner, LocalFault } from './lease-runner.ts';
import { PowerGuard, powerPrefs } from './power-guard.ts';
import { ResultKeeper } from './result-keeper.ts';
import { SelfHealer } from './self-heal.ts';
import type { SessionContext } from './session.ts';
import { ServeHost } from './serving/serve-host.ts';
import type { ContributeOptions, ContributorPause, ContributorState, MeshContributor, PowerOptions, PowerStatus, ShardEventDetail } from './types.ts';

export { ASSIGN_WAIT_MS } from './assign-book.ts';

/** The SDK's contributor (`mesh.contributor`). */
export class Contributor extends EventTarget implements MeshContributor {
  /** `cacheServed`: leases answered from the result store without running the kernel (also in `shardsRun`). */
  readonly stats = { shardsRun: 0, shardsFailed: 0, earned: 0, cacheServed: 0 };
  readonly #ctx: SessionContext;
  readonly #cache = new ModelCache();
  /** Assign pushes held until their client asks for the lease. */
  readonly #assigned = new AssignBook();
  readonly #runners = new Map<string, LeaseRunner>();
  /** Outputs of pipeline stage leases kept for the next stage (activation-wiring.ts serves their pulls). */
  readonly #activations: ActivationStore;
  #state: ContributorState = 'stopped';
  #pool: ComputePool | undefined;
  #capabilities: Capabilities | undefined;
  #caps: { cpuCap?: number; gpuCap?: number } = {};
  #registration: { askPrice: number; maxConcurrent: number } | undefined;
  #pausedBy: ContributorPause | undefined;
  #results: ResultKeeper | undefined;
  readonly #healer: SelfHealer;
  /** Serving leases (continuous serving: serving/serve-host.ts). Its 'serve' events are re-sent from here. */
  readonly serving: ServeHost;
  readonly #onFault = (e: Event) => this.#healer.fault((e as CustomEvent<FaultDetail>).detail);
  #power: PowerGuard | undefined;

  constructor(ctx: SessionContext) {
    super();
    this.#ctx = ctx;
    const c = ctx.coordinator;
    c.addEventListener('assign', (e) => this.#onAssign((e as CustomEvent<AssignFrame>).detail));
    c.addEventListener('revoke', (e) => this.#onRevoke((e as CustomEvent<Extract<PushFrame, { type: 'revoke' }>>).detail));
    c.addEventListener('credited', (e) => this.#onCredited((e as CustomEvent<Extract<PushFrame, { type: 'credited' }>>).detail));
    c.addEventListener('paused', (e) => {
      const { reason, failures } = (e as CustomEvent<Extract<PushFrame, { type: 'paused' }>>).detail;
      if (this.#state === 'active') this.#healer.coordinatorPaused(reason, failures);
    });
    this.#healer = new SelfHealer({
      pause: (reason) => this.#autoPause(reason),
      heal: () => this.#pool?.heal() ?? Promise.reject(new MeshError('cancelled', 'Cannot heal as the contributor stopped')),
      resume: () => this.#autoResume(),
      stay: (reason) => this.#pauseFor({ ...this.#pausedBy!, reason, final: true }),
    });
    // A new coordinator session knows nothing of us: register again in the state we were in.
    c.addEventListener('welcome', () => void this.#reregister());
    ctx.network.addEventListener('shard', (e) => void this.#onShard((e as CustomEvent<ShardRequest>).detail));
    this.#activations = wireActivations(ctx);
    this.serving = new ServeHost({
      ctx,
      compute: () => (this.#state === 'active' && this.#pool ? { pool: this.#pool, cache: this.#cache } : undefined),
      credited: (amount, balance) => {
        this.stats.earned += amount;
        this.dispatchEvent(new CustomEvent('credited', { detail: { amount, balance } }));
        this.#ctx.balanceChanged(balance);
      },
    });
    this.serving.addEventListener('serve', (e) => this.dispatchEvent(new CustomEvent('serve', { detail: (e as CustomEvent).detail })));
  }

  /** 'stopped', 'starting', 'active' or 'paused'. */
  get state(): ContributorState {
    return this.#state;
  }

  /** Why the contributor paused on its own or was paused by the coordinator; undefined otherwise. */
  get pausedBy(): ContributorPause | undefined {
    return this.#pausedBy;
  }

  /** The power rules' verdict (allowed, with no rules, while stopped). */
  get power(): PowerStatus {
    return this.#power?.status ?? { allowed: true, reason: '', holding: false, batterySupported: false };
  }

  /** Capabilities measured at start. */
  get capabilities(): Capabilities | undefined {
    return this.#capabilities;
  }

  /** Starts computing: measures capabilities, registers them and begins taking leases. */
  async start(opts: ContributeOptions = {}): Promise<Capabilities> {
    if (this.#state !== 'stopped') {
      throw new MeshError('conflict', `Cannot start contributing as the contributor must be stopped: current state is ${this.#state}`);
    }
    const askPrice = opts.askPrice ?? DEFAULT_ASK_PRICE;
    if (!Number.isSafeInteger(askPrice) || askPrice < 0) {
      throw new RangeError(`Cannot start contributing as 'askPrice' must be a non-negative integer of micro-credits: current value is ${askPrice}`);
    }
    const keep = opts.resultCache ?? {};
    // Checked before anything starts (RangeError for bounds out of range).
    const store = keep === false ? undefined : new ResultStore({ ...DEFAULT_RESULT_BOUNDS, ...keep, onEvict: (h) => this.#results?.evicted(h) });
    const prefetch = opts.prefetch ?? 0;
    if (!Number.isSafeInteger(prefetch) || prefetch < 0 || prefetch > 8) {
      throw new RangeError(`Cannot start contributing as 'prefetch' must be an integer from 0 to 8: current value is ${prefetch}`);
    }
    powerPrefs(opts.power); // checked before anything starts
    const budget = opts.modelMemoryMB;
    if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < MIN_MODEL_MEMORY_MB || budget > MAX_MODEL_MEMORY_MB)) {
      throw new RangeError(`Cannot start contributing as 'modelMemoryMB' must be an integer from ${MIN_MODEL_MEMORY_MB} to ${MAX_MODEL_MEMORY_MB} (MiB): current value is ${budget}`);
    }
    this.#caps = {
      ...(opts.cpuCap === undefined ? {} : { cpuCap: opts.cpuCap }),
      ...(opts.gpuCap === undefined ? {} : { gpuCap: opts.gpuCap }),
    };
    this.#setState('starting');
    this.#results = new ResultKeeper(store, (outputs) => this.#ctx.coordinator.request({ type: 'evicted', outputs }));
    try {
      const pool = await ComputePool.create({ ...this.#caps, assetBase: this.#ctx.base, backgroundTuning: opts.backgroundTuning ?? true });
      this.#pool = pool;
      pool.addEventListener('fault', this.#onFault);
      const measured = await pool.capabilities();
      const caps = budget === undefined ? measured : { ...measured, modelMemoryMB: budget };
      this.#capabilities = caps;
      // Prefetched leases are slots to the coordinator; the pool's lanes keep their compute one task at a time.
      const maxConcurrent = (opts.maxConcurrent ?? Math.max(1, Math.min(4, Math.floor(caps.cpu.cores / 2)))) + prefetch;
      this.#registration = { askPrice, maxConcurrent };
      await this.#ctx.coordinator.request({ type: 'register', caps, askPrice, maxConcurrent });
      if ((this.#state as ContributorState) !== 'starting') throw new MeshError('cancelled', 'Cannot start contributing as stop() was called meanwhile');
      this.#setState('active');
      await this.#guard(opts.power);
      return caps;
    } catch (err) {
      this.#teardown();
      this.#setState('stopped');
      throw err;
    }
  }

  /** Changes the duty-cycle caps (0.05..1) from the next task on. */
  setCaps(caps: { cpuCap?: number; gpuCap?: number }): void {
    this.#pool?.setCaps(caps);
    this.#caps = { ...this.#caps, ...caps };
  }

  /**
   * Stops taking new leases (running ones finish); during a pause of its own, keeps it paused for good. The power
   * rules never lift a pause made here.
   */
  async pause(): Promise<void> {
    this.#power?.release();
    if (this.#state === 'paused' && this.#pausedBy) {
      // The user's pause now: the healer must not resume it.
      this.#pausedBy = undefined;
      this.dispatchEvent(new CustomEvent('state', { detail: { state: this.#state } }));
      return;
    }
    await this.#pauseNow();
  }

  /**
   * Takes leases again after `pause()`, or after a pause of its own (see `pausedBy`), whatever its cause (unless
   * the power rules forbid work now: then they pause again).
   */
  async resume(): Promise<void> {
    this.#power?.release();
    await this.#resumeNow();
    await this.#power?.check();
  }

  /** Changes the power rules while contributing (applied at once). */
  async setPower(power: PowerOptions): Promise<void> {
    powerPrefs(power);
    await this.#power?.update(power);
  }

  async #pauseNow(): Promise<void> {
    if (this.#state !== 'active') return;
    await this.#ctx.coordinator.request({ type: 'state', state: 'paused' }, { idempotent: true });
    this.#setState('paused');
  }

  async #resumeNow(): Promise<void> {
    if (this.#state !== 'paused') return;
    await this.#ctx.coordinator.request({ type: 'state', state: 'active' }, { idempotent: true });
    this.#healer.reset();
    this.#pausedBy = undefined;
    this.#setState('active');
  }

  /**
   * The healer's pause: stop taking leases and abort those running (the workers are about to be replaced), with
   * the reason for all to see. Only an active contributor pauses this way; a user's pause is left alone.
   */
  async #autoPause(reason: string): Promise<boolean> {
    if (this.#state !== 'active') return false;
    const by = reason.startsWith('paused by the coordinator') ? 'coordinator' : 'self';
    this.#pauseFor({ by, reason, since: Date.now(), final: false });
    console.warn(`meshwork: contributor paused: ${reason}`);
    for (const runner of this.#runners.values()) runner.abort(`the contributor paused: ${reason}`);
    this.serving.stopAll(`the contributor paused: ${reason}`);
    await this.#ctx.coordinator.request({ type: 'state', state: 'paused' }, { idempotent: true }).catch(() => {});
    return true;
  }

  /** The healer's resume: only of its own pause, which neither the user nor stop() has ended meanwhile. */
  async #autoResume(): Promise<boolean> {
    if (this.#state !== 'paused' || !this.#pausedBy || this.#pausedBy.final) return false;
    await this.#ctx.coordinator.request({ type: 'state', state: 'active' }, { idempotent: true });
    if (this.#state !== 'paused' || !this.#pausedBy) return false;
    this.#pausedBy = undefined;
    this.#setState('active');
    return true;
  }

  #pauseFor(pause: ContributorPause): void {
    this.#pausedBy = pause;
    this.#state = 'paused';
    this.dispatchEvent(new CustomEvent('state', { detail: { state: this.#state, pause } }));
  }

  /** Starts applying the power rules of `start()`; they never lift a pause the healer holds. */
  async #guard(power: PowerOptions | undefined): Promise<void> {
    const state = (): ContributorState => this.#state;
    const target = {
      get state() {
        return state();
      },
      pause: () => this.#pauseNow(),
      resume: () => (this.#pausedBy ? Promise.resolve() : this.#resumeNow()),
    };
    const guard = new PowerGuard(target, power, (status) => this.dispatchEvent(new CustomEvent<PowerStatus>('power', { detail: status })));
    this.#power = guard;
    await guard.start();
  }

  /** Unregisters, aborts running leases (their clients hear `fail`) and stops the workers. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('stopped');
    try {
      if (this.#ctx.coordinator.state !== 'closed') await this.#ctx.coordinator.request({ type: 'unregister' });
    } catch {
      // The coordinator forgets us anyway when the session ends.
    } finally {
      this.#teardown();
    }
  }

  #teardown(): void {
    this.serving.stopAll('the contributor stopped');
    this.#power?.dispose();
    this.#power = undefined;
    for (const runner of this.#runners.values()) runner.abort('the contributor stopped');
    this.#runners.clear();
    this.#assigned.clear();
    this.#activations.clear();
    this.#pool?.removeEventListener('fault', this.#onFault);
    this.#pool?.terminate();
    this.#pool = undefined;
    this.#registration = undefined;
    this.#pausedBy = undefined;
    this.#results?.dispose();
    this.#results = undefined;
    this.#healer.reset();
  }

  #setState(state: ContributorState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }

  #onAssign(frame: AssignFrame): void {
    if (this.#state === 'stopped') return;
    try {
      parseContributorLease(frame.lease, 'lease');
    } catch (err) {
      // Nothing acts on a lease it cannot read; its client hears 'unauthorized' when it asks for it.
      console.warn(`meshwork: ignored an assign push: ${(err as Error).message}`);
      return;
    }
    this.#assigned.hold(frame);
  }

  #onRevoke(frame: Extract<PushFrame, { type: 'revoke' }>): void {
    this.#assigned.drop(frame.leaseId);
    this.#runners.get(frame.leaseId)?.abort(`revoked by the coordinator (${frame.reason})`);
    this.#runners.delete(frame.leaseId);
    this.#results?.dropped(frame.leaseId);
  }

  #onCredited(frame: Extract<PushFrame, { type: 'credited' }>): void {
    this.stats.earned += frame.amount;
    void this.#results?.credited(frame.leaseId);
    recordReceipt({ leaseId: frame.leaseId, jobId: this.#assigned.get(frame.leaseId)?.lease.jobId ?? '', kind: 'credited', amount: frame.amount, at: Date.now() })
      .catch(() => {});
    this.dispatchEvent(new CustomEvent('credited', { detail: { amount: frame.amount, balance: frame.balance } }));
    this.#ctx.balanceChanged(frame.balance);
  }

  async #onShard({ link, frame }: ShardRequest): Promise<void> {
    const { leaseId } = frame;
    if (frame.v !== PROTOCOL_VERSION) {
      link.sendFail(leaseId, new MeshError('unsupported-version', `Cannot run lease ${leaseId} as peers must speak protocol ${PROTOCOL_VERSION}: current value is ${frame.v}`));
      return;
    }
    if (this.#state === 'stopped' || !this.#pool) {
      link.sendFail(leaseId, new MeshError('unauthorized', `Cannot run lease ${leaseId} as this peer is not contributing`));
      return;
    }
    const assign = await this.#assigned.wait(leaseId);
    if (!assign || assign.lease.client !== link.remote) {
      link.sendFail(leaseId, new MeshError('unauthorized', `Cannot run lease ${leaseId} for ${link.remote} as the coordinator did not assign it to this pair`));
      return;
    }
    if (this.#runners.has(leaseId)) {
      link.sendFail(leaseId, new MeshError('conflict', `Cannot run lease ${leaseId} twice`));
      return;
    }
    const pool = this.#pool;
    if (!pool) return;
    const results = this.#results;
    const pipes = { store: this.#activations, link: (peer: string) => this.#ctx.network.link(peer) };
    const runner = new LeaseRunner({ pool, cache: this.#cache, coordinator: this.#ctx.coordinator, identity: this.#ctx.identity, pipes, ...(results ? { results } : {}) }, assign, link);
    this.#runners.set(leaseId, runner);
    const { jobId, shard } = assign.lease;
    this.#shardEvent({ leaseId, jobId, shard, phase: 'start' });
    try {
      const { ms, fromCache } = await runner.run();
      this.stats.shardsRun++;
      if (fromCache) this.stats.cacheServed++;
      this.#shardEvent({ leaseId, jobId, shard, phase: 'done', ms, ...(fromCache ? { fromCache: true as const } : {}) });
    } catch (err) {
      if (err instanceof MeshError && err.code === 'cancelled') {
        this.#shardEvent({ leaseId, jobId, shard, phase: 'cancelled', error: err.message });
        return;
      }
      this.stats.shardsFailed++;
      this.#shardEvent({ leaseId, jobId, shard, phase: 'failed', error: (err as Error).message, ...(err instanceof LocalFault ? { failure: err.reason } : {}) });
    } finally {
      if (this.#runners.get(leaseId) === runner) this.#runners.delete(leaseId);
      this.#assigned.drop(leaseId);
    }
  }

  #shardEvent(detail: ShardEventDetail): void {
    this.dispatchEvent(new CustomEvent<ShardEventDetail>('shard', { detail }));
  }

  async #reregister(): Promise<void> {
    const reg = this.#registration;
    if (!reg || !this.#capabilities || (this.#state !== 'active' && this.#state !== 'paused')) return;
    try {
      await this.#ctx.coordinator.request({ type: 'register', caps: this.#capabilities, askPrice: reg.askPrice, maxConcurrent: reg.maxConcurrent });
      if (this.#state === 'paused') await this.#ctx.coordinator.request({ type: 'state', state: 'paused' });
    } catch {
      // Registration failed on the new session: there is nothing to run until the next reconnect.
    }
  }
}
