/**
 * Choosing contributors for a service's replicas. A serving lease takes one of its contributor's slots (it is
 * counted in the registry's `load`, so the job market sees the slot as busy). Candidates: active contributors
 * of this instance with an ONNX runtime, asking at most the service's bid, not quarantined, with a free slot,
 * and not already serving this service (nor excluded, e.g. the two sides of a dispute). Among them: networks
 * no replica uses yet first (spot checks between replicas then mean something), then the least loaded, then
 * the cheapest, ties broken at random.
 */
import { busy, type Contributor, type ContributorRegistry } from '../market/contributors.ts';
import type { Credibility } from '../market/credibility.ts';

/** What placement reads. */
export interface PlacementDeps {
  registry: ContributorRegistry;
  credibility: Credibility;
  random: () => number;
}

/** Up to `count` contributors for a service bidding `bid`, avoiding `exclude` (peer ids) and preferring networks outside `used`. */
export function chooseReplicas(d: PlacementDeps, count: number, bid: number, exclude: ReadonlySet<string>, used: ReadonlySet<string>): Contributor[] {
  if (count <= 0) return [];
  const candidates: { c: Contributor; rank: number[] }[] = [];
  for (const c of d.registry.taking()) {
    if (c.home !== undefined || exclude.has(c.peerId) || c.askPrice > bid || c.caps.ortEps.length === 0) continue;
    if (d.credibility.quarantined(c.peerId)) continue;
    const load = busy(c).load;
    if (load >= d.registry.capacity(c)) continue;
    candidates.push({ c, rank: [used.has(c.placement) ? 1 : 0, load, c.askPrice, d.random()] });
  }
  candidates.sort((a, b) => {
    for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i]! - b.rank[i]!;
    return 0;
  });
  return candidates.slice(0, count).map(({ c }) => c);
}
