/**
 * The cluster's contributor registry. Each instance (a contributor's "home", holding its session) tells the
 * others of its contributors every SYNC_MS: rows that changed (what it can do, asks, its state and how busy it
 * is) and ids that left. Every instance keeps those rows in its market's registry as remote contributors, so
 * jobs anywhere can use contributors anywhere. Rows (without the busy counts) are also written to the store,
 * where an instance that starts, or that missed a message (a gap in a home's sequence numbers), reads them.
 */
import type { Bus } from '../bus/index.ts';
import type { Logger } from '../log.ts';
import type { Contributor, RemoteRow } from '../market/contributors.ts';
import type { Market } from '../market/market.ts';
import type { MarketStore, StoredContributor } from '../store/types.ts';
import { CONTRIB_SUBJECT, type ContribMsg } from './messages.ts';

/** How often a home tells the cluster what changed. */
export const SYNC_MS = 50;
/** Rows per bus message (a row with capabilities is well under 1 KiB; the bus takes 256 KiB). */
export const ROWS_PER_MESSAGE = 200;

interface Sent {
  caps: unknown;
  fields: string;
  busy: string;
}

/** Publishes this instance's contributors and applies the others'. */
export class ContributorSync {
  readonly #sent = new Map<string, Sent>();
  readonly #seq = new Map<string, number>();
  readonly #reloading = new Set<string>();
  #mySeq = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly d: { me: string; bus: Bus; market: Market; store: MarketStore; log: Logger; onGone(peerId: string): void },
  ) {}

  /** Reads the rows of live instances from the store and starts publishing. */
  async start(live: ReadonlySet<string>): Promise<void> {
    for await (const row of this.d.store.contributors()) {
      if (row.home !== this.d.me && live.has(row.home)) this.#applyRow({ ...row, load: 0, unpaid: 0 });
    }
    this.#timer = setInterval(() => void this.#publish().catch((err) => this.d.log.error('publishing contributors failed', { err })), SYNC_MS);
  }

  /** Stops publishing; tells the others this home is leaving (its contributors are gone with it). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const msg: ContribMsg = { t: 'contribs', home: this.d.me, seq: ++this.#mySeq, rows: [], gone: [...this.#sent.keys()], leaving: true };
    this.d.bus.publishJson(CONTRIB_SUBJECT, msg);
    await this.d.bus.flush().catch(() => {});
  }

  /** Stops publishing without a word (a simulated crash). */
  halt(): void {
    clearInterval(this.#timer);
  }

  /** A message of another home. */
  onMessage(msg: ContribMsg): void {
    if (msg.home === this.d.me) return;
    const last = this.#seq.get(msg.home);
    this.#seq.set(msg.home, msg.seq);
    if (msg.leaving) return this.dropHome(msg.home);
    for (const row of msg.rows) this.#applyRow(row);
    for (const peerId of msg.gone) {
      if (this.d.market.registry.get(peerId)?.home === msg.home) this.d.onGone(peerId);
    }
    if (last !== undefined && msg.seq !== last + 1) void this.#reload(msg.home);
  }

  /** A home died or left: its contributors are gone. */
  dropHome(home: string): void {
    this.#seq.delete(home);
    const gone = [...this.d.market.registry.all()].filter((c) => c.home === home).map((c) => c.peerId);
    for (const peerId of gone) this.d.onGone(peerId);
  }

  #applyRow(row: RemoteRow): void {
    this.d.market.remoteContributor(row);
  }

  /** A gap in a home's messages: its rows are read again from the store. */
  async #reload(home: string): Promise<void> {
    if (this.#reloading.has(home)) return;
    this.#reloading.add(home);
    try {
      const seen = new Set<string>();
      for await (const row of this.d.store.contributors()) {
        if (row.home !== home) continue;
        seen.add(row.peerId);
        const known = this.d.market.registry.get(row.peerId);
        this.#applyRow({ ...row, load: known?.reported?.load ?? 0, unpaid: known?.reported?.unpaid ?? 0 });
      }
      for (const c of [...this.d.market.registry.all()]) if (c.home === home && !seen.has(c.peerId)) this.d.onGone(c.peerId);
    } catch (err) {
      this.d.log.warn('reloading contributors of an instance failed', { home, err });
    } finally {
      this.#reloading.delete(home);
    }
  }

  /** Sends what changed since the last tick; writes changed rows (not busy counts) to the store. */
  async #publish(): Promise<void> {
    const rows: RemoteRow[] = [];
    const stored: StoredContributor[] = [];
    const present = new Set<string>();
    for (const c of this.d.market.registry.all()) {
      if (c.home !== undefined) continue;
      present.add(c.peerId);
      const row = rowOf(c, this.d.me, this.d.market);
      const fields = `${row.state}|${row.askPrice}|${row.maxConcurrent}|${row.network}|${row.placement}|${row.registeredAt}`;
      const busy = `${row.load}|${row.unpaid}`;
      const sent = this.#sent.get(c.peerId);
      if (sent && sent.caps === c.caps && sent.fields === fields && sent.busy === busy) continue;
      rows.push(row);
      if (!sent || sent.caps !== c.caps || sent.fields !== fields) stored.push(storedRow(row));
      this.#sent.set(c.peerId, { caps: c.caps, fields, busy });
    }
    const gone = [...this.#sent.keys()].filter((id) => !present.has(id));
    for (const id of gone) this.#sent.delete(id);
    if (rows.length === 0 && gone.length === 0) return;
    for (let at = 0; at < Math.max(rows.length, 1); at += ROWS_PER_MESSAGE) {
      const msg: ContribMsg = { t: 'contribs', home: this.d.me, seq: ++this.#mySeq, rows: rows.slice(at, at + ROWS_PER_MESSAGE), gone: at === 0 ? gone : [] };
      this.d.bus.publishJson(CONTRIB_SUBJECT, msg);
    }
    if (stored.length > 0) await this.d.store.putContributors(stored);
    if (gone.length > 0) await this.d.store.dropContributors(this.d.me, gone);
  }
}

function rowOf(c: Contributor, home: string, market: Market): RemoteRow {
  return {
    peerId: c.peerId,
    home,
    caps: c.caps,
    askPrice: c.askPrice,
    maxConcurrent: Math.min(c.maxConcurrent, market.registry.capacity(c)),
    state: c.state,
    network: c.network,
    placement: c.placement,
    registeredAt: c.registeredAt,
    load: c.load.size,
    unpaid: c.unpaid.size,
  };
}

function storedRow(r: RemoteRow): StoredContributor {
  const { load: _l, unpaid: _u, ...row } = r;
  return row;
}
