/**
 * Short-lived TURN credentials in the "TURN REST API" scheme that coturn checks with `use-auth-secret`: the
 * username is `<unix expiry>:<peerId>` and the credential is base64(HMAC-SHA1(secret, username)). coturn
 * recomputes the HMAC with the same shared secret and refuses a username whose expiry has passed, so each
 * authenticated peer gets about an hour of relaying without a user table, and the secret never leaves here.
 * A peer gets fresh credentials in every `welcome`, i.e. on every (re)authentication.
 */

/** How long minted credentials stay valid, in seconds. */
export const TURN_TTL_SECONDS = 3600;

/** What `TurnCredentials` needs: the relay's URLs and shared secret. */
export interface TurnSettings {
  /** `turn:` / `turns:` URLs of one relay (or of relays sharing the secret). */
  urls: readonly string[];
  /** coturn's `static-auth-secret`. */
  secret: string;
  /** Lifetime of each credential in seconds (default `TURN_TTL_SECONDS`). */
  ttlSeconds?: number;
}

/** Mints per-peer TURN credentials from the shared secret. */
export class TurnCredentials {
  readonly #urls: string[];
  readonly #ttl: number;
  readonly #key: Promise<CryptoKey>;

  constructor(settings: TurnSettings) {
    if (settings.urls.length === 0) throw new TypeError('Cannot mint TURN credentials as no TURN URL was given: current value is []');
    if (settings.secret === '') throw new TypeError(`Cannot mint TURN credentials for ${settings.urls[0]} as the shared secret is empty: pass --turn-secret`);
    const ttl = settings.ttlSeconds ?? TURN_TTL_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl < 60 || ttl > 86_400) {
      throw new RangeError(`Cannot mint TURN credentials as 'ttlSeconds' must be an integer in [60, 86400]: current value is ${ttl}`);
    }
    this.#urls = [...settings.urls];
    this.#ttl = ttl;
    this.#key = crypto.subtle.importKey('raw', new TextEncoder().encode(settings.secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  }

  /** The ICE server entry for `peerId`, valid until `now` plus the lifetime. */
  async mint(peerId: string, nowMs = Date.now()): Promise<RTCIceServer> {
    if (peerId === '' || peerId.includes(':')) throw new TypeError(`Cannot mint TURN credentials as the peer id must be non-empty without ':': current value is ${peerId.slice(0, 80)}`);
    const username = `${Math.floor(nowMs / 1000) + this.#ttl}:${peerId}`;
    return { urls: [...this.#urls], username, credential: await turnPassword(await this.#key, username) };
  }
}

/** Credentials for the coordinator's `--turn-url`/`--turn-secret`, or undefined when no relay is configured. */
export function turnFromOptions(o: { turnUrls: readonly string[]; turnSecret: string }): TurnCredentials | undefined {
  if (o.turnUrls.length === 0) {
    if (o.turnSecret !== '') throw new TypeError("Cannot use '--turn-secret' as it needs '--turn-url': current value of '--turn-url' is none");
    return undefined;
  }
  if (o.turnSecret === '') throw new TypeError(`Cannot use '--turn-url' as it needs '--turn-secret': current value of '--turn-url' is ${o.turnUrls.join(',')}`);
  return new TurnCredentials({ urls: o.turnUrls, secret: o.turnSecret });
}

/** The unix time (seconds) a TURN REST username expires, or NaN when it has no expiry prefix. */
export function turnExpiry(username: string): number {
  const match = /^(\d+):/.exec(username);
  return match ? Number(match[1]) : NaN;
}

async function turnPassword(key: CryptoKey, username: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(username)));
  return btoa(String.fromCharCode(...mac));
}
