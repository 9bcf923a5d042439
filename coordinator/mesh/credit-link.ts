/**
 * Credit links: a visitor who earned credits through an embed (an identity of that site) hands them to their app
 * identity. The embed's identity signs a CreditLink naming the app identity (found through link-targets.ts); either
 * identity presents it over its own session, and the recipient hears `linked`. Everything checked before the ledger is touched: the session is the link's `to` or `from`, the `from`
 * id derives from the key presented, the signature verifies with that key, and the link has not expired. The
 * ledger moves the credits once per (from, nonce).
 */
import { type ClientFrameOf, LINK_TTL_MS, type LinkCreditsResult, signedText } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { peerIdFromPublicKey, verifySignature } from '../../src/core/identity.ts';
import { fromBase64Url } from '../../src/core/encoding.ts';
import type { Ledger } from '../ledger/types.ts';
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { LinkTargets } from './link-targets.ts';

/** What presenting a link needs. */
export interface LinkDeps {
  ledger: Ledger;
  targets: LinkTargets;
  notify: (peerId: string, frame: ServerFrame) => boolean;
}

/** Clock difference tolerated on `expiresAt` (the signer's clock may run ahead). */
const CLOCK_SLACK_MS = 60_000;

/** Checks a credit link presented by `caller` and moves the credits it names. */
export async function linkCredits(d: LinkDeps, caller: string, f: ClientFrameOf<'link'>, now = Date.now()): Promise<LinkCreditsResult> {
  const { link } = f;
  if (link.to !== caller && link.from !== caller) {
    throw new MeshError('unauthorized', `Cannot link credits of ${link.from} to ${link.to} as this session, ${caller}, is neither`);
  }
  if (link.from === link.to) throw new MeshError('invalid-message', `Cannot link credits of ${link.from} to itself`);
  if (link.expiresAt <= now) {
    throw new MeshError('invalid-message', `Cannot link credits as the link expired: it was valid until ${new Date(link.expiresAt).toISOString()}`);
  }
  if (link.expiresAt > now + LINK_TTL_MS + CLOCK_SLACK_MS) {
    throw new MeshError('invalid-message', `Cannot link credits as 'expiresAt' is more than ${LINK_TTL_MS / 60_000} minutes ahead: current value is ${link.expiresAt}`);
  }
  let key: Uint8Array;
  try {
    key = fromBase64Url(link.fromKey);
  } catch {
    throw new MeshError('invalid-message', `Cannot link credits as 'fromKey' is not base64url`);
  }
  if (key.byteLength !== 32 || (await peerIdFromPublicKey(key)) !== link.from) {
    throw new MeshError('unauthorized', `Cannot link credits of ${link.from} as 'fromKey' is not its public key`);
  }
  if (!(await verifySignature(link.fromKey, signedText('link', link), f.signature))) {
    throw new MeshError('unauthorized', `Cannot link credits of ${link.from} as the signature does not verify with its key`);
  }
  const moved = await d.ledger.link(`link:${link.from}:${link.nonce}`, link.from, link.to);
  if (f.code !== undefined && d.targets.lookup(f.code) === link.to) d.targets.used(f.code);
  const balance = await d.ledger.spendable(link.to);
  if (moved.moved) d.notify(link.to, { type: 'linked', from: link.from, earned: moved.earned, grant: moved.grant, balance });
  return { ...moved, balance: caller === link.to ? balance : await d.ledger.spendable(caller) };
}
