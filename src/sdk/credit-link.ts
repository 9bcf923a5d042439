/**
 * Moving credits earned through an embed into the visitor's app identity.
 *
 * Storage is partitioned per site, so the embed on each site has an identity of its own, and what it earns sits
 * there. The visitor asks the embed to move it: the embed opens the app (`{app}/#claim-credits`) in a window;
 * the app posts its peer id to its opener; the embed signs a CreditLink naming that id and posts it back to the
 * app's origin only; the app shows where the credits come from, and on the visitor's confirmation presents the
 * link over its own session (`Mesh.claimCredits`), then tells the embed how it went.
 *
 * Whoever holds the link can only give the credits to the identity named in it, and the coordinator moves them
 * once per nonce. Every message between the windows is checked for its source window, origin and shape.
 */
import { type CreditLink, CreditLinkSchema, LINK_TTL_MS, type LinkCreditsResult, signedText } from '../protocol/coordinator.ts';
import type { Identity } from '../core/identity.ts';
import { toBase64Url } from '../core/encoding.ts';
import * as v from 'valibot';

/** A link and the signature of the identity whose credits it hands over. */
export interface SignedCreditLink {
  link: CreditLink;
  signature: string;
}

/** The hash the app is opened with to receive credits. */
export const CLAIM_HASH = '#claim-credits';
/** How long the embed waits for the app window to ask, and then to report. */
export const OFFER_TIMEOUT_MS = 5 * 60_000;

const KEYED = /^mw[0-9a-f]{40}$/;
const RequestSchema = v.strictObject({ type: v.literal('meshwork-claim-request'), to: v.pipe(v.string(), v.regex(KEYED)) });
const OfferSchema = v.strictObject({ type: v.literal('meshwork-claim-offer'), link: CreditLinkSchema, signature: v.pipe(v.string(), v.maxLength(200)) });
const DoneSchema = v.strictObject({
  type: v.literal('meshwork-claim-done'),
  ok: v.boolean(),
  moved: v.optional(v.number()),
  message: v.optional(v.pipe(v.string(), v.maxLength(300))),
});

/** Signs a link handing everything `identity` holds to `to`, usable once within LINK_TTL_MS. */
export async function signCreditLink(identity: Identity, to: string, now = Date.now()): Promise<SignedCreditLink> {
  if (!KEYED.test(to)) throw new TypeError(`Cannot sign a credit link as 'to' is not a peer id: current value is ${to.slice(0, 80)}`);
  const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
  const link: CreditLink = { from: identity.peerId, fromKey: identity.publicKey, to, nonce, expiresAt: now + LINK_TTL_MS };
  return { link, signature: await identity.sign(signedText('link', link)) };
}

/** What the app reported back to the embed. */
export interface OfferOutcome {
  ok: boolean;
  /** Micro-credits moved, when ok. */
  moved?: number;
  message?: string;
}

/**
 * Embed side: opens the app at `appOrigin`, signs a link to the identity it names and hands it over; resolves
 * with what the app reports (the visitor may decline there), or rejects after OFFER_TIMEOUT_MS or when the
 * window was blocked or closed.
 */
export function offerCredits(identity: Identity, appOrigin: string, opts: { timeoutMs?: number; win?: Window } = {}): Promise<OfferOutcome> {
  const origin = new URL(appOrigin).origin;
  const win = opts.win ?? window;
  const popup = win.open(`${origin}/${CLAIM_HASH}`, '_blank');
  if (!popup) return Promise.reject(new Error('Cannot open the Meshwork app as the browser blocked the window: allow pop-ups for this site'));
  return new Promise<OfferOutcome>((resolve, reject) => {
    let offered = false;
    const finish = (fn: () => void) => {
      win.removeEventListener('message', onMessage);
      clearTimeout(timer);
      clearInterval(watch);
      fn();
    };
    const onMessage = (e: MessageEvent) => {
      if (e.source !== popup || e.origin !== origin) return;
      const req = v.safeParse(RequestSchema, e.data);
      if (req.success && !offered) {
        offered = true;
        void signCreditLink(identity, req.output.to).then((signed) => popup.postMessage({ type: 'meshwork-claim-offer', ...signed }, origin));
        return;
      }
      const done = v.safeParse(DoneSchema, e.data);
      if (done.success) {
        const { ok, moved, message } = done.output;
        finish(() => resolve({ ok, ...(moved !== undefined ? { moved } : {}), ...(message !== undefined ? { message } : {}) }));
      }
    };
    const timer = setTimeout(() => finish(() => reject(new Error('Cannot move the credits as the Meshwork app did not answer in time'))), opts.timeoutMs ?? OFFER_TIMEOUT_MS);
    const watch = setInterval(() => {
      if (popup.closed) finish(() => resolve({ ok: false, message: 'The Meshwork app window was closed' }));
    }, 500);
    win.addEventListener('message', onMessage);
  });
}

/** An offer the app received: the site it comes from and the signed link. */
export interface ReceivedOffer {
  /** Origin of the page that offered (the site whose embed earned the credits). */
  origin: string;
  signed: SignedCreditLink;
  /** Tells the offering page how it went (after `claimCredits`, or a refusal). */
  reply(outcome: OfferOutcome): void;
}

/**
 * App side: when this window was opened with CLAIM_HASH by another window, asks it for a link to `peerId` and
 * resolves with the offer (null when this window was not opened for that, or nothing valid came in `timeoutMs`).
 */
export function receiveCreditOffer(peerId: string, opts: { timeoutMs?: number; win?: Window } = {}): Promise<ReceivedOffer | null> {
  const win = opts.win ?? window;
  const opener = win.opener as Window | null;
  if (win.location.hash !== CLAIM_HASH || !opener) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onMessage = (e: MessageEvent) => {
      if (e.source !== opener) return;
      const offer = v.safeParse(OfferSchema, e.data);
      if (!offer.success || offer.output.link.to !== peerId) return;
      win.removeEventListener('message', onMessage);
      clearTimeout(timer);
      const { link, signature } = offer.output;
      resolve({
        origin: e.origin,
        signed: { link, signature },
        reply: (outcome) => opener.postMessage({ type: 'meshwork-claim-done', ...outcome }, e.origin),
      });
    };
    const timer = setTimeout(() => {
      win.removeEventListener('message', onMessage);
      resolve(null);
    }, opts.timeoutMs ?? 30_000);
    win.addEventListener('message', onMessage);
    // Only our public peer id goes out; the opener's origin is not known yet, so any origin may read it.
    opener.postMessage({ type: 'meshwork-claim-request', to: peerId }, '*');
  });
}

/** Micro-credits a link moved in all. */
export function linkedTotal(r: Pick<LinkCreditsResult, 'earned' | 'grant'>): number {
  return r.earned + r.grant;
}
