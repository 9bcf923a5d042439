/**
 * Who is in a mix: honest contributors, each on its own network and with a seeded history; saboteurs, who join
 * as newcomers (sybils all on one network, the others each on their own); honest and freeloading clients.
 * A saboteur the market quarantines leaves and comes back under a fresh identity on the same network (a new
 * key costs nothing), so the attack keeps its share of identities for the whole mix.
 */
import { cpuCaps } from '../../coordinator/testing/fixtures.ts';
import { type ContributorRole, isClientKind, type SaboteurKind } from './behaviours.ts';
import { SimClient } from './client.ts';
import { SimContributor } from './contributor.ts';
import type { World } from './world.ts';

/** Contributor identities at any time. */
export const CONTRIBUTORS = 40;
/** Client identities. */
export const CLIENTS = 10;
/** Leases a contributor declares it can run at once. */
export const MAX_CONCURRENT = 4;
/** Micro-credits per work unit every contributor asks. */
export const ASK = 1;
/** How often saboteurs look for quarantine (they would notice getting no more work). */
const WHITEWASH_EVERY_MS = 25;

/** A mix's saboteurs: what they are and what share of contributors (or clients) they make. */
export interface Adversary {
  kind: SaboteurKind | 'none';
  fraction: number;
}

/** Everyone in a mix, with each identity's spendable credits when it joined. */
export interface Population {
  honest: SimContributor[];
  /** Every saboteur identity that ever joined, quarantined ones included. */
  saboteurs: SimContributor[];
  clients: SimClient[];
  startBalance: Map<string, number>;
}

/** Creates accounts, registers contributors and returns everyone. */
export async function populate(world: World, adv: Adversary): Promise<Population> {
  const pop: Population = { honest: [], saboteurs: [], clients: [], startBalance: new Map() };
  const clientKind = adv.kind !== 'none' && isClientKind(adv.kind);
  const badContributors = adv.kind === 'none' || clientKind ? 0 : Math.round(CONTRIBUTORS * adv.fraction);
  const badClients = clientKind ? Math.round(CLIENTS * adv.fraction) : 0;
  for (let i = 0; i < CONTRIBUTORS - badContributors; i++) pop.honest.push(await join(world, pop, `h${i}`, `sim-net-${i}`, 'honest'));
  for (let i = 0; i < badContributors; i++) {
    const role = adv.kind as ContributorRole;
    pop.saboteurs.push(await join(world, pop, `s${i}-0`, networkOf(role, i), role));
  }
  for (let i = 0; i < CLIENTS; i++) {
    const role = i < badClients ? 'freeloader' : 'honest';
    const c = new SimClient(`c${i}`, `sim-net-c${i}`, role, world);
    await account(world, pop, c.id, c.network);
    world.peers.set(c.id, c);
    pop.clients.push(c);
  }
  return pop;
}

/**
 * Gives each honest contributor a history of `agreements` agreements and as many paid runs, recorded the way
 * the market records agreeing runs (`credibility.agreed`); with 100 their results are replicated at the 5% floor.
 */
export function seedHistory(world: World, ids: readonly string[], agreements: number): void {
  for (let k = 0; k < agreements; k++) {
    world.market.credibility.agreed(ids);
    for (const id of ids) world.market.credibility.paid(id);
  }
}

/** Replaces quarantined saboteurs with fresh identities until the returned function is called. */
export function whitewash(world: World, pop: Population): () => void {
  const active = new Set(pop.saboteurs);
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    for (const s of [...active]) {
      if (!world.market.credibility.quarantined(s.id)) continue;
      active.delete(s);
      world.market.unregister(s.id);
      s.stop();
      world.peers.delete(s.id);
      const [base, n] = s.id.split('-') as [string, string];
      const fresh = await join(world, pop, `${base}-${Number(n) + 1}`, s.network, s.role);
      pop.saboteurs.push(fresh);
      active.add(fresh);
    }
    busy = false;
  }, WHITEWASH_EVERY_MS);
  return () => clearInterval(timer);
}

/** Sybils share one network; every other identity has its own. */
function networkOf(role: ContributorRole, i: number): string {
  return role === 'sybils' ? 'sim-net-sybil' : `sim-net-s${i}`;
}

async function join(world: World, pop: Population, id: string, network: string, role: ContributorRole): Promise<SimContributor> {
  const c = new SimContributor(id, network, role, world);
  await account(world, pop, id, network);
  world.peers.set(id, c);
  world.market.register(id, { caps: cpuCaps(), askPrice: ASK, maxConcurrent: MAX_CONCURRENT }, network);
  return c;
}

async function account(world: World, pop: Population, id: string, network: string): Promise<void> {
  const { balance } = await world.ledger.ensureAccount(id, { network, perDay: Infinity });
  pop.startBalance.set(id, balance);
}
