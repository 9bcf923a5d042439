/**
 * One load Worker of the throughput phase (see throughput.ts): contributors that claim every `assign` at once
 * and clients that keep jobs running and pay each claim as soon as it is acknowledged. Each peer is a real
 * mesh API session (bench-peer.ts) with its own Ed25519 identity, connected to its instance. An acknowledged
 * claim goes to the Worker of the job's client (`lease.client`) over a MessagePort; the client that submitted
 * the job signs and sends the receipt.
 */
import type { ContributorLease, ServerFrame } from '../../src/protocol/coordinator.ts';
import { generateKeyPair, identityFromKeyPair } from '../../src/core/identity.ts';
import { cpuCaps, onnxJob } from '../../coordinator/testing/fixtures.ts';
import { outputHash } from '../../coordinator/testing/peers.ts';
import { BenchPeer } from './bench-peer.ts';
import type { Claimed, FromWorker, LoadPlan, ToWorker, WorkerStats } from './load-protocol.ts';

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);

let plan: LoadPlan;
const contributors: BenchPeer[] = [];
const clients = new Map<string, { peer: BenchPeer; jobs: Set<string> }>();
let routes: Record<string, number> = {};
let ports: (MessagePort | null)[] = [];
let span = { from: Infinity, to: -Infinity };
let running = false;
let claiming = false;
const stats: WorkerStats = {
  window: { assigns: 0, claims: 0, settled: 0 },
  total: { assigns: 0, claims: 0, settled: 0, notPaid: 0, paidAmount: 0, paidFees: 0, jobsSubmitted: 0, jobsDone: 0 },
  claimMs: [],
  payMs: [],
  errors: {},
};

const inWindow = (t: number) => t >= span.from && t < span.to;

function refused(what: string, err: unknown): void {
  const code = (err as { code?: string }).code ?? (err as Error).message.slice(0, 80);
  const key = `${what}: ${code}`;
  stats.errors[key] = (stats.errors[key] ?? 0) + 1;
}

async function newPeer(url: string, onPush: (f: Exclude<ServerFrame, { type: 'ok' | 'error' | 'challenge' | 'welcome' }>) => void): Promise<BenchPeer> {
  const identity = await identityFromKeyPair(await generateKeyPair());
  return await BenchPeer.connect(url, identity, onPush);
}

// ---- contributors ----

async function addContributor(url: string): Promise<void> {
  const peer: BenchPeer = await newPeer(url, (f) => {
    if (f.type === 'assign') onAssign(peer, f.lease);
  });
  await peer.request({ type: 'register', caps: cpuCaps(), askPrice: 1, maxConcurrent: plan.maxConcurrent });
  contributors.push(peer);
}

function onAssign(peer: BenchPeer, lease: ContributorLease): void {
  const now = Date.now();
  stats.total.assigns++;
  if (inWindow(now)) stats.window.assigns++;
  if (!claiming) return;
  const hash = outputHash(lease);
  const sent = performance.now();
  peer.claim(lease, hash).then((r) => {
    const at = Date.now();
    if (!r.accepted || r.duplicate) return refused('claim', new Error(r.duplicate ? 'duplicate' : 'not accepted'));
    stats.total.claims++;
    if (inWindow(at)) {
      stats.window.claims++;
      stats.claimMs.push(performance.now() - sent);
    }
    const to = routes[lease.client];
    if (to === undefined) return refused('claim', new Error('client of the job is not one of the bench'));
    const msg: Claimed = { lease, hash };
    if (to === plan.index) void pay(msg);
    else ports[to]!.postMessage(msg);
  }, (err) => refused('claim', err));
}

// ---- clients ----

async function addClient(url: string): Promise<void> {
  const jobs = new Set<string>();
  const peer = await newPeer(url, (f) => {
    if (f.type === 'job' && f.status.state !== 'running' && jobs.delete(f.status.jobId)) {
      stats.total.jobsDone++;
      if (running) void submit(client);
    }
  });
  const client = { peer, jobs };
  clients.set(peer.peerId, client);
}

async function submit(client: { peer: BenchPeer; jobs: Set<string> }): Promise<void> {
  const job = onnxJob({ shards: plan.shards, items: plan.items, bid: plan.bid, verifyFraction: 0, deadlineMs: 600_000 });
  try {
    const { jobId } = await client.peer.submit(job);
    client.jobs.add(jobId);
    stats.total.jobsSubmitted++;
  } catch (err) {
    refused('submit', err);
  }
}

async function pay({ lease, hash }: Claimed): Promise<void> {
  const client = clients.get(lease.client);
  if (!client) return refused('pay', new Error('no such client here'));
  const sent = performance.now();
  try {
    const r = await client.peer.pay(lease, hash, plan.items * 1000);
    const at = Date.now();
    if (!r.paid) {
      stats.total.notPaid++;
      return;
    }
    stats.total.settled++;
    stats.total.paidAmount += r.amount;
    stats.total.paidFees += r.fee;
    if (inWindow(at)) {
      stats.window.settled++;
      stats.payMs.push(performance.now() - sent);
    }
  } catch (err) {
    refused('pay', err);
  }
}

// ---- control ----

async function until(quiet: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!quiet() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

scope.onmessage = (e) => {
  const m = e.data;
  (async () => {
    switch (m.t) {
      case 'init': {
        plan = m.plan;
        // A few at a time: each connection signs a challenge, and the coordinator creates an account per peer.
        const todo = [...plan.contributors.map((i) => () => addContributor(plan.urls[i]!)), ...plan.clients.map((i) => () => addClient(plan.urls[i]!))];
        for (let at = 0; at < todo.length; at += 4) await Promise.all(todo.slice(at, at + 4).map((f) => f()));
        post({ t: 'ready', clients: [...clients.keys()] });
        return;
      }
      case 'wire':
        routes = m.routes;
        ports = m.ports;
        for (const p of ports) if (p) p.onmessage = (ev: MessageEvent<Claimed>) => void pay(ev.data);
        post({ t: 'wired' });
        return;
      case 'start':
        span = { from: m.from, to: m.to };
        running = claiming = true;
        for (const c of clients.values()) for (let j = 0; j < plan.jobsInFlight; j++) void submit(c);
        return;
      case 'stop':
        running = claiming = false;
        await until(() => contributors.every((p) => p.inFlight === 0), 10_000);
        post({ t: 'quiet' });
        return;
      case 'finish':
        await until(() => [...clients.values()].every((c) => c.peer.inFlight === 0), 10_000);
        post({ t: 'done', stats });
        await Promise.all([...contributors, ...[...clients.values()].map((c) => c.peer)].map((p) => p.close()));
        for (const p of ports) p?.close();
        return;
    }
  })().catch((err) => post({ t: 'failed', message: (err as Error).stack ?? String(err) }));
};
