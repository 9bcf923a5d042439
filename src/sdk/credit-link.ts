/**
 * Moving credits earned through an embed into the visitor's app identity.
 *
 * Storage is partitioned per site, so the embed on each site has an identity of its own, and what it earns sits
 * there. The visitor asks the embed to move it (`Mesh.offerCredits`, on a click): the embed opens the app at
 * `{app}/#claim-credits={code}&site={origin}` with a fresh random code; the app shows where the credits come from
 * and, on the visitor's confirmation, names its identity as the code's target (`Mesh.acceptCredits`); the embed,
 * polling the coordinator for the code, signs a CreditLink naming that identity and presents it. The app hears
 * `linked`. The windows never talk to each other: a cross-origin isolated host page (COOP) could not.
 *
 * The code is the only secret: it travels in the URL of the window the embed opened, and the first identity to
 * name itself for it gets the credits, so it is random (144 bits), lives 10 minutes and is used once.
 */
import { type CreditLink, LINK_TTL_MS, type LinkCreditsResult, signedText } from '../protocol/coordinator.ts';
import type { Identity } from '../core/identity.ts';
import { toBase64Url } from '../core/encoding.ts';
import { MeshError } from '../protocol/errors.ts';

/** A link and the signature of the identity whose credits it hands over. */
export interface SignedCreditLink {
  link: CreditLink;
  signature: string;
}

/** The hash the app is opened with to receive credits: `#claim-credits={code}&site={origin}`. */
export const CLAIM_HASH = '#claim-credits=';
/** How long the embed waits for the visitor to confirm in the app. */
export const OFFER_TIMEOUT_MS = 10 * 60_000;
/** How often the embed asks the coordinator whether the app confirmed. */
export const LOOKUP_EVERY_MS = 1_000;

const KEYED = /^mw[0-9a-f]{40}$/;
const CODE = /^[A-Za-z0-9_-]{16,64}$/;

/** Signs a link handing everything `identity` holds to `to`, usable once within LINK_TTL_MS. */
export async function signCreditLink(identity: Identity, to: string, now = Date.now()): Promise<SignedCreditLink> {
  if (!KEYED.test(to)) throw new TypeError(`Cannot sign a credit link as 'to' is not a peer id: current value is ${to.slice(0, 80)}`);
  const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
  const link: CreditLink = { from: identity.peerId, fromKey: identity.publicKey, to, nonce, expiresAt: now + LINK_TTL_MS };
  return { link, signature: await identity.sign(signedText('link', link)) };
}

/** A fresh rendezvous code (144 random bits). */
export function newLinkCode(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
}

/** The app URL that receives the credits of `site`'s embed. */
export function claimUrl(app: string, code: string, site: string): string {
  return `${new URL(app).origin}/${CLAIM_HASH}${code}&site=${encodeURIComponent(site)}`;
}

/** The claim a URL hash carries (the app was opened by an embed to receive its credits), if it is one. */
export function parseClaimHash(hash: string): { code: string; site: string } | undefined {
  if (!hash.startsWith(CLAIM_HASH)) return undefined;
  const params = new URLSearchParams(hash.slice(1));
  const code = params.get('claim-credits') ?? '';
  const site = params.get('site') ?? '';
  if (!CODE.test(code)) return undefined;
  let origin: string;
  try {
    origin = new URL(site).origin;
  } catch {
    return undefined;
  }
  return origin === 'null' ? undefined : { code, site: origin };
}

/** What the embed side uses of its session. */
export interface OfferDeps {
  identity: Identity;
  request<T>(body: { type: 'link-lookup'; code: string } | { type: 'link'; link: CreditLink; signature: string; code: string }): Promise<T>;
  open(url: string): unknown;
  site: string;
}

/**
 * Embed side: opens the app at `app` for a fresh code, waits until the visitor confirmed there (the app named its
 * identity for the code), then signs and presents the link. Rejects with MeshError 'timeout' when nobody
 * confirmed within `timeoutMs`, or 'cancelled' when `signal` aborts.
 */
export async function offerCredits(d: OfferDeps, app: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LinkCreditsResult> {
  const code = newLinkCode();
  if (!d.open(claimUrl(app, code, d.site))) {
    throw new MeshError('unsupported', 'Cannot open the Meshwork app as the browser blocked the window: call this from a click, or allow pop-ups');
  }
  const until = Date.now() + (opts.timeoutMs ?? OFFER_TIMEOUT_MS);
  while (Date.now() < until) {
    if (opts.signal?.aborted) throw new MeshError('cancelled', 'Cannot move the credits as the offer was withdrawn');
    const { to } = await d.request<{ to: string | null }>({ type: 'link-lookup', code });
    if (to !== null) {
      const signed = await signCreditLink(d.identity, to);
      return d.request<LinkCreditsResult>({ type: 'link', ...signed, code });
    }
    await new Promise((r) => setTimeout(r, LOOKUP_EVERY_MS));
  }
  throw new MeshError('timeout', 'Cannot move the credits as nobody confirmed in the Meshwork app in time');
}

/** Micro-credits a link moved in all. */
export function linkedTotal(r: Pick<LinkCreditsResult, 'earned' | 'grant'>): number {
  return r.earned + r.grant;
}
