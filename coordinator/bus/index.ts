/**
 * The message bus between coordinator instances (`--bus`): one interface (types.ts), two engines.
 *
 * Default recommendation: NATS. Measured by `bench/bus.ts` (bench/RESULTS.md, "Bus between instances") on the
 * project's 2-core machine, 4 publishers, one subscriber, everything on 127.0.0.1:
 *
 * | 2026-12-03 | one-way msgs/s 200 B / 4 KB | round trip p50 / p99 ms, 200 B | 4 KB |
 * |---|---|---|---|
 * | NATS | 237,000 / 53,600 | 0.23 / 0.94 | 0.32 / 2.34 |
 * | PostgreSQL NOTIFY | 195,000 / 20,600 | 0.70 / 2.61 | 1.22 / 3.18 |
 *
 * NATS wins every figure (3x lower round-trip medians, 2.6x the throughput of 4 KB offers, 1.2x of small
 * frames); at 5,000 msgs/s neither engine changed the store's INSERT rate beyond CPU noise.
 * PostgreSQL LISTEN/NOTIFY needs no extra server where the store is PostgreSQL already, and stays available
 * as `--bus postgres`, but every batch is a transaction taking NOTIFY's global commit lock on the database
 * the store also writes to, and payloads over 7,900 bytes travel as base64 parts (a third larger).
 */
import { openNatsBus } from './nats.ts';
import { openPostgresBus } from './postgres.ts';
import type { Bus, BusOptions } from './types.ts';

export type {
  Bus,
  BusEngine,
  BusErrorKind,
  BusHandler,
  BusMessage,
  BusOptions,
  BusStats,
  BusSubscription,
  SubscribeOptions,
} from './types.ts';
export { MAX_BUS_PAYLOAD_BYTES } from './types.ts';
export { openNatsBus } from './nats.ts';
export { openPostgresBus } from './postgres.ts';

/**
 * Opens the bus a `--bus` value names: a `nats://` URL, 'postgres' (LISTEN/NOTIFY on the `--store` database),
 * or a `postgres://` URL directly (tests and benches).
 */
export function openBus(bus: string, store: string, opts: BusOptions = {}): Promise<Bus> {
  if (bus.startsWith('nats://')) return openNatsBus(bus, opts);
  if (/^postgres(ql)?:\/\//.test(bus)) return openPostgresBus(bus, opts);
  if (bus === 'postgres') {
    if (!/^postgres(ql)?:\/\//.test(store)) {
      return Promise.reject(new TypeError(`Cannot open the 'postgres' bus as '--store' must be a postgres:// URL: current value is ${store.slice(0, 80)}`));
    }
    return openPostgresBus(store, opts);
  }
  return Promise.reject(new TypeError(`Cannot open a bus as '--bus' must be a nats:// URL or 'postgres': current value is ${bus.slice(0, 80)}`));
}

/** The engine a `--bus` value selects. */
export function busEngineOf(bus: string): 'nats' | 'postgres' {
  return bus.startsWith('nats://') ? 'nats' : 'postgres';
}
