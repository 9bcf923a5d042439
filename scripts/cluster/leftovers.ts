/**
 * Servers an earlier run left behind. Children run in sessions of their own, so when the script itself is
 * killed (SIGKILL, a crash) they keep running and hold their ports. Each child's pid is kept in
 * `<data>/run/<name>.pid` while it runs; the next start stops any that is still alive and still one of ours
 * (its command line names the data folder, so a recycled pid is left alone).
 */
import { sleep } from './process.ts';

/** The pid file of service `name`. */
export function pidFile(dataDir: string, name: string): string {
  return `${dataDir}/run/${name}.pid`;
}

/** Stops the processes the pid files in `<dataDir>/run` name; calls `note` for each. */
export async function stopLeftovers(dataDir: string, note: (line: string) => void): Promise<void> {
  const dir = `${dataDir}/run`;
  await Deno.mkdir(dir, { recursive: true });
  // Users of a server first: coordinators, then the relay and the bus (PostgreSQL has its own postmaster.pid).
  const order = ['c2', 'c1', 'coturn', 'nats'];
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith('.pid')).map((n) => n.slice(0, -4));
  names.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  for (const name of names) {
    const path = `${dir}/${name}.pid`;
    const pid = Number((await Deno.readTextFile(path).catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 1 && ours(pid, dataDir)) {
      note(`${name}: stopping pid ${pid}, left running by an earlier run`);
      signal(pid, 'SIGTERM');
      for (let i = 0; i < 100 && ours(pid, dataDir); i++) await sleep(50);
      if (ours(pid, dataDir)) signal(pid, 'SIGKILL');
      for (let i = 0; i < 20 && ours(pid, dataDir); i++) await sleep(50);
    }
    await Deno.remove(path).catch(() => {});
  }
}

function ours(pid: number, dataDir: string): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').includes(`${dataDir}/`);
  } catch {
    return false;
  }
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // gone
  }
}
