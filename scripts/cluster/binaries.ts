/**
 * Finds the machine's server binaries (Debian's packages, or the folders the environment names) before anything
 * starts, so a missing one is one clear line instead of a half-started cluster.
 */

/** The command that installs every binary the cluster needs. */
export const INSTALL_COMMAND = 'apt-get install -y postgresql nats-server coturn';

/** Where the binaries are. */
export interface Binaries {
  /** Folders of initdb and pg_ctl by major version ('' for PG_BIN, whose version is not looked up). */
  pgBins: Map<string, string>;
  nats: string;
  turnserver: string;
  /** util-linux `setsid`, which gives each child a session of its own; null where absent. */
  setsid: string | null;
}

/** Looks the binaries up; throws Error naming every missing one and the apt-get command. */
export function findBinaries(env: Record<string, string | undefined>): Binaries {
  const pgBins = new Map<string, string>();
  // PG_BIN, when set, is the only choice; otherwise Debian's folders, one per major version.
  if (env.PG_BIN) pgBins.set('', env.PG_BIN);
  else for (const v of pgVersions()) pgBins.set(v, `/usr/lib/postgresql/${v}/bin`);
  for (const [v, dir] of pgBins) {
    if (!isFile(`${dir}/initdb`) || !isFile(`${dir}/pg_ctl`)) pgBins.delete(v);
  }
  const nats = env.NATS_SERVER ?? '/usr/sbin/nats-server';
  const turnserver = env.TURNSERVER ?? '/usr/bin/turnserver';
  const missing = [
    ...(pgBins.size === 0 ? ['PostgreSQL (initdb, pg_ctl)'] : []),
    ...(isFile(nats) ? [] : [`nats-server (${nats})`]),
    ...(isFile(turnserver) ? [] : [`turnserver (${turnserver})`]),
  ];
  if (missing.length > 0) throw new Error(`Cannot start the cluster as ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed: run ${INSTALL_COMMAND}`);
  return { pgBins, nats, turnserver, setsid: isFile('/usr/bin/setsid') ? '/usr/bin/setsid' : null };
}

/** The folder to run a cluster of `version` with (its own major version when installed, else the preferred one). */
export function pgBinFor(b: Binaries, version: string | null): string {
  if (version !== null && b.pgBins.has(version)) return b.pgBins.get(version)!;
  return b.pgBins.values().next().value!;
}

/** Installed majors, 15 first (what production runs), then newest first. */
function pgVersions(): string[] {
  try {
    const versions = [...Deno.readDirSync('/usr/lib/postgresql')].map((e) => e.name).filter((n) => /^\d+$/.test(n));
    return versions.sort((a, b) => (a === '15' ? -1 : b === '15' ? 1 : Number(b) - Number(a)));
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
