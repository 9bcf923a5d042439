/**
 * Where a peer connects from, as the limits and the market see it. A network is an IPv4 /24 or an IPv6 /48:
 * one household, office or small hosting block, which is what one person can cheaply make many identities
 * in. Starter grants are counted per network and day, new accounts are rate limited per address, and the
 * runs that verify each other must come from distinct networks.
 *
 * Loopback is one machine: the operator's own development and tests. Its peers are one network for grants
 * and rate limits but distinct networks for verification placement (a single machine could never verify
 * anything otherwise). Behind a reverse proxy every peer would look like loopback: set `--trust-proxy` to the
 * proxy's address so the client address comes from its X-Forwarded-For header.
 */

/** The network key of an address: `a.b.c.0/24`, `x:x:x::/48`, or 'loopback'. */
export function networkOf(addr: string): string {
  const a = addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
  if (isLoopback(a)) return 'loopback';
  const v4 = a.split('.');
  if (v4.length === 4 && v4.every((p) => /^\d{1,3}$/.test(p))) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const groups = expandIpv6(a);
  if (groups) return `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}::/48`;
  return `other:${a.slice(0, 64)}`;
}

/** Whether an address is a loopback address (127.0.0.0/8 or ::1). */
export function isLoopback(addr: string): boolean {
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || a.startsWith('127.') || a === 'localhost';
}

/** The key verification placement uses: the network, except that each loopback peer counts as its own. */
export function placementKey(network: string, peerId: string): string {
  return network === 'loopback' ? `loopback:${peerId}` : network;
}

/**
 * The client's address: the TCP peer's, or, when that is a trusted proxy, the last address its
 * X-Forwarded-For header names (the one the proxy itself saw).
 */
export function clientAddress(remote: string, headers: Headers, trustedProxies: ReadonlySet<string>): string {
  if (!trustedProxies.has(remote)) return remote;
  const forwarded = headers.get('x-forwarded-for');
  if (!forwarded) return remote;
  const last = forwarded.split(',').at(-1)!.trim();
  return /^[0-9A-Fa-f:.]{2,45}$/.test(last) ? last : remote;
}

/** The 8 groups of an IPv6 address, or undefined when it is not one. */
function expandIpv6(addr: string): number[] | undefined {
  const bare = addr.replace(/^\[|\]$/g, '').split('%')[0]!;
  if (!bare.includes(':') || !/^[0-9A-Fa-f:]+$/.test(bare)) return undefined;
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const groups = [...head, ...Array(fill).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
