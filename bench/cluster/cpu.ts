/**
 * Where the CPU goes during a measured window, from /proc (Linux): CPU seconds of the load generator (this
 * process, its Workers included), of each coordinator instance, of PostgreSQL (the postmaster and its
 * backends) and of NATS, and the busy time of the whole machine. On a 2-core machine every one of them competes
 * for the same cores, so the split says what a throughput figure is bounded by. Besides the time each group
 * ran, the time its threads were ready to run but waited for a core (schedstat's run delay): a process that
 * waits as long as it runs is starved, not idle.
 */

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const HZ = 100;

/** CPU seconds (user + system) a process has used so far, and seconds its threads waited for a core; 0 when gone. */
export function processCpu(pid: number | 'self'): { run: number; wait: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let wait = 0;
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        wait += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(' ')[1]) / 1e9;
      } catch {
        // the thread ended meanwhile
      }
    }
    return { run: (Number(f[11]) + Number(f[12])) / HZ, wait };
  } catch {
    return { run: 0, wait: 0 };
  }
}

/** Pids whose command line contains `needle`, and the children of those (one level: PostgreSQL's backends). */
export function pidsOf(needle: string): number[] {
  const found = new Set<number>();
  const parents = new Map<number, number>();
  for (const e of Deno.readDirSync('/proc')) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    try {
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll('\0', ' ');
      if (cmd.includes(needle)) found.add(pid);
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  for (const [pid, ppid] of parents) if (found.has(ppid)) found.add(pid);
  return [...found];
}

/** Busy and total CPU seconds of the machine so far (all cores, from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = Deno.readTextFileSync('/proc/stat').split('\n')[0]!;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / HZ, total: total / HZ };
}

/** Named groups of pids; a group's pids are looked up again at each reading (PostgreSQL forks backends). */
export type CpuGroups = Record<string, () => number[] | ['self']>;

/** CPU seconds per group and for the machine at one moment. */
export interface CpuReading {
  at: number;
  groups: Record<string, Map<number | 'self', { run: number; wait: number }>>;
  machine: { busy: number; total: number };
}

/** Reads every group now. */
export function readCpu(groups: CpuGroups): CpuReading {
  const out: CpuReading = { at: performance.now(), groups: {}, machine: machineCpu() };
  for (const [name, pids] of Object.entries(groups)) {
    const m = new Map<number | 'self', { run: number; wait: number }>();
    for (const pid of pids()) m.set(pid, processCpu(pid));
    out.groups[name] = m;
  }
  return out;
}

/** CPU use between two readings. */
export interface CpuUse {
  seconds: number;
  /** Cores each group ran on (CPU seconds per second). */
  cores: Record<string, number>;
  /** Cores' worth of time each group's threads were ready to run but waited for a core. */
  waiting: Record<string, number>;
  /** Cores busy on the whole machine, and its cores: the rest of `machineBusyCores` went to other processes. */
  machineBusyCores: number;
  machineCores: number;
}

/** What each group used between two readings. */
export function cpuBetween(a: CpuReading, b: CpuReading): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const cores: Record<string, number> = {};
  const waiting: Record<string, number> = {};
  for (const [name, after] of Object.entries(b.groups)) {
    const before = a.groups[name] ?? new Map();
    let run = 0;
    let wait = 0;
    // A process that started during the window counts from 0 (a PostgreSQL backend forked for a new connection).
    for (const [pid, now] of after) {
      run += now.run - (before.get(pid)?.run ?? 0);
      wait += now.wait - (before.get(pid)?.wait ?? 0);
    }
    cores[name] = round(run / seconds);
    waiting[name] = round(wait / seconds);
  }
  const machineCores = (b.machine.total - a.machine.total) / seconds;
  return { seconds: round(seconds), cores, waiting, machineBusyCores: round((b.machine.busy - a.machine.busy) / seconds), machineCores: Math.round(machineCores) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
