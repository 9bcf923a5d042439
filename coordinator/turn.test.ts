import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { authMessage, type ServerFrame } from '../src/protocol/coordinator.ts';
import { PROTOCOL_VERSION } from '../src/protocol/version.ts';
import { TURN_TTL_SECONDS, TurnCredentials, turnExpiry, turnFromOptions } from './turn.ts';
import { startTestCoordinator } from './testing/coordinator.ts';
import { MeshTestClient, newIdentity } from './testing/mesh-client.ts';

const SECRET = 'coturn-shared-secret-0123';
const PEER = 'mw0123456789abcdef0123456789abcdef01234567';
const URLS = ['turn:127.0.0.1:3478?transport=udp'];

describe('TURN REST credentials', () => {
  it('mint() computes coturn\'s username and HMAC-SHA1 credential (a vector computed independently)', async () => {
    const turn = new TurnCredentials({ urls: URLS, secret: SECRET });
    const server = await turn.mint(PEER, (1_700_003_600 - TURN_TTL_SECONDS) * 1000 + 999);
    // python3: base64(hmac.new(secret, username, sha1).digest())
    assert.deepEqual(server, { urls: URLS, username: `1700003600:${PEER}`, credential: '9wwOgxYTwpUK4tGk6Sh1uNLYcXw=' });
    assert.equal(server.credential, createHmac('sha1', SECRET).update(server.username!).digest('base64'));
  });

  it('mint() makes credentials that expire about an hour from now, or after ttlSeconds', async () => {
    const now = Date.now();
    const hour = await new TurnCredentials({ urls: URLS, secret: SECRET }).mint(PEER, now);
    assert.equal(turnExpiry(hour.username!), Math.floor(now / 1000) + 3600);
    const short = await new TurnCredentials({ urls: URLS, secret: SECRET, ttlSeconds: 120 }).mint(PEER, now);
    assert.equal(turnExpiry(short.username!), Math.floor(now / 1000) + 120);
    assert.notEqual(short.credential, hour.credential);
    assert.ok(Number.isNaN(turnExpiry('plain-user')));
  });

  it('refuses a relay without its secret, a secret without a relay, bad lifetimes and ids', async () => {
    assert.equal(turnFromOptions({ turnUrls: [], turnSecret: '' }), undefined);
    assert.throws(() => turnFromOptions({ turnUrls: URLS, turnSecret: '' }), /Cannot use '--turn-url' as it needs '--turn-secret'/);
    assert.throws(() => turnFromOptions({ turnUrls: [], turnSecret: SECRET }), /Cannot use '--turn-secret' as it needs '--turn-url'/);
    assert.throws(() => new TurnCredentials({ urls: URLS, secret: SECRET, ttlSeconds: 5 }), RangeError);
    await assert.rejects(new TurnCredentials({ urls: URLS, secret: SECRET }).mint('a:b'), TypeError);
    await assert.rejects(startTestCoordinator({ turnUrls: URLS }), /needs '--turn-secret'/);
  });
});

describe('mesh API: TURN credentials in welcome', () => {
  it('hands each authenticated peer its own fresh credentials on every authentication, and the secret in no frame', async () => {
    const c = await startTestCoordinator({ turnUrls: URLS, turnSecret: SECRET, iceServers: [{ urls: 'stun:127.0.0.1:3478' }] });
    try {
      const me = await newIdentity();
      const raw: string[] = [];
      const welcomes: Extract<ServerFrame, { type: 'welcome' }>[] = [];
      for (let session = 0; session < 2; session++) {
        const before = Math.floor(Date.now() / 1000);
        const inbox = MeshTestClient.open(c.url);
        inbox.socket.addEventListener('message', (e) => raw.push(String(e.data)));
        const { nonce } = await inbox.nextOfType('challenge');
        inbox.send({ type: 'auth', v: PROTOCOL_VERSION, peerId: me.peerId, publicKey: me.publicKey, signature: await me.sign(authMessage(nonce, me.peerId)) });
        const welcome = await inbox.nextOfType('welcome');
        welcomes.push(welcome);
        const [server, ...more] = welcome.iceServers ?? [];
        assert.equal(more.length, 0);
        assert.deepEqual(server?.urls, URLS);
        assert.match(server?.username ?? '', new RegExp(`^\\d+:${me.peerId}$`));
        const expiry = turnExpiry(server!.username!);
        assert.ok(expiry >= before + TURN_TTL_SECONDS && expiry <= Math.ceil(Date.now() / 1000) + TURN_TTL_SECONDS, `expiry ${expiry}`);
        assert.equal(server?.credential, createHmac('sha1', SECRET).update(server!.username!).digest('base64'));
        inbox.send({ type: 'balance', rid: 1 });
        await inbox.nextOfType('ok');
        await inbox.close();
        if (session === 0) await new Promise((r) => setTimeout(r, 1100)); // the next expiry is a later second
      }
      assert.notEqual(welcomes[0]!.iceServers![0]!.username, welcomes[1]!.iceServers![0]!.username, 'minted again on re-authentication');
      // Another peer gets credentials of its own.
      const other = await MeshTestClient.connect(c.url);
      assert.match(other.welcome.iceServers?.[0]?.username ?? '', new RegExp(`:${other.peerId}$`));
      await other.close();
      // The public config keeps the static list only; the secret appears nowhere.
      const config = await (await fetch(`${c.url}/api/config`)).text();
      assert.deepEqual(JSON.parse(config).iceServers, [{ urls: 'stun:127.0.0.1:3478' }]);
      const metrics = await (await fetch(`${c.url}/metrics`)).text();
      for (const text of [...raw, config, metrics]) assert.ok(!text.includes(SECRET), `secret leaked in ${text.slice(0, 80)}`);
      assert.ok(raw.length >= 6);
    } finally {
      await c.close();
    }
  });

  it('sends no iceServers in welcome when no relay is configured', async () => {
    const c = await startTestCoordinator();
    try {
      const peer = await MeshTestClient.connect(c.url);
      assert.equal('iceServers' in peer.welcome, false);
      await peer.close();
    } finally {
      await c.close();
    }
  });
});
