/**
 * The message bus between coordinator instances (`--bus`): one interface (types.ts), two engines.
 *
 * Default recommendation: NATS. Measured by `bench/bus.ts` (bench/RESULTS.md, "Bus between instances") on the
 * project's 2-core machine, 4 publishers, one subscriber, everything on 127.0.0.1:
 * RECOMMENDATION_NUMBERS
 * PostgreSQL LISTEN/NOTIFY needs no extra server where the store is PostgreSQL already, and stays available
 * as `--bus postgres`, but every batch is a transaction taking NOTIFY's global commit lock on the database
 * the store also writes to, and payloads over 8000 bytes must be split.
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
