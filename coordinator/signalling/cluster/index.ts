/**
 * Cross-instance signalling: several coordinators behind one address, a peer on one reaching a peer on another.
 * `startCluster` opens the bus `--bus` names and the directory of the same engine (NATS: JetStream KV buckets;
 * postgres: tables in the `--store` database) and returns the link the signalling server takes as `cluster`.
 */
import { busEngineOf, openBus } from '../../bus/index.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import { checkTiming, DEFAULT_TIMING, type DirectoryTiming, type PeerDirectory } from './directory.ts';
import { ClusterLink } from './link.ts';
import { openNatsDirectory } from './nats-directory.ts';
import { openPgDirectory } from './pg-directory.ts';

export { ClusterLink, MAX_PEERS } from './link.ts';
export { DEFAULT_TIMING, type DirectoryTiming, hashToken, type PeerDirectory } from './directory.ts';
export type { ClaimVerdict, LocalSignalling, RoutedSignal, SignallingCluster } from './port.ts';

/** What `startCluster` needs. */
export interface ClusterOptions {
  /** `--bus`: a nats:// URL, 'postgres', or a postgres:// URL. */
  bus: string;
  /** `--store`: the postgres:// URL the 'postgres' bus uses. */
  store: string;
  /** `--instance-id`; random when empty. */
  instanceId: string;
  timing?: Partial<DirectoryTiming>;
  metrics: Metrics;
  log: Logger;
}

/** Opens the bus and the directory and starts the link (first heartbeat done). */
export async function startCluster(o: ClusterOptions): Promise<ClusterLink> {
  const instance = o.instanceId || `i${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const timing = { ...DEFAULT_TIMING, ...o.timing };
  checkTiming(timing);
  const bus = await openBus(o.bus, o.store, {
    name: `meshwork-${instance}`,
    onError: (kind, detail) => {
      o.metrics.inc('bus_errors', kind);
      o.log.debug('bus error', { kind, detail });
    },
  });
  let directory: PeerDirectory | undefined;
  try {
    const url = o.bus === 'postgres' ? o.store : o.bus;
    directory = busEngineOf(o.bus) === 'nats' ? await openNatsDirectory(url, instance, timing) : await openPgDirectory(url, instance, timing);
    return await ClusterLink.start({ instance, bus, directory, timing, metrics: o.metrics, log: o.log });
  } catch (err) {
    await bus.close();
    await directory?.close();
    throw err;
  }
}
