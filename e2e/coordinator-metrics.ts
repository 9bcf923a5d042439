// Reads a coordinator's Prometheus text (/metrics) for the numbers the session specs count.
import { expect } from '@playwright/test';

/** Authenticated mesh API sessions now, and mesh API sockets accepted since the coordinator started. */
export interface SessionCounts {
  sessions: number;
  meshOpens: number;
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The session gauge and the mesh connection counter of the coordinator at `base`. */
export async function sessionCounts(base: string): Promise<SessionCounts> {
  const res = await fetch(`${base}/metrics`);
  expect(res.ok).toBe(true);
  const text = await res.text();
  return { sessions: value(text, 'meshwork_mesh_sessions'), meshOpens: value(text, 'meshwork_connections_total{kind="mesh"}') };
}
