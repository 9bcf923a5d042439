import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coordinatorUrl, hasRelay, meshSocketUrl, peerOptions, rtcConfiguration } from './config.ts';

const config = { version: '1', peerjs: { path: '/peerjs', key: 'peerjs' }, iceServers: [], feeRate: 0.05, leaseMs: 60_000 };

describe('coordinator URLs', () => {
  it('meshSocketUrl() turns http(s) into ws(s) and keeps a path prefix', () => {
    assert.equal(meshSocketUrl('http://127.0.0.1:8787'), 'ws://127.0.0.1:8787/mesh');
    assert.equal(meshSocketUrl('https://example.org/app/'), 'wss://example.org/app/mesh');
    assert.throws(() => meshSocketUrl('ftp://x'), /must be http\(s\)/);
  });

  it('coordinatorUrl() resolves absolute API paths under the base', () => {
    assert.equal(coordinatorUrl('http://h:1/app', '/api/config').href, 'http://h:1/app/api/config');
  });

  it('peerOptions() takes host, port and TLS from the URL and key, path and ICE from the config', () => {
    const opts = peerOptions('http://127.0.0.1:9000', config, 'tok');
    assert.deepEqual(
      { host: opts.host, port: opts.port, secure: opts.secure, path: opts.path, key: opts.key, ice: opts.config.iceServers, debug: opts.debug },
      { host: '127.0.0.1', port: 9000, secure: false, path: '/peerjs', key: 'peerjs', ice: [], debug: 0 },
    );
    assert.equal(peerOptions('https://mesh.example', config, 't').port, 443);
  });

  it('rtcConfiguration() puts the minted relay before the static list, and relayOnly sets the relay policy', () => {
    const withStun = { ...config, iceServers: [{ urls: 'stun:127.0.0.1:3478' }] };
    const relay = [{ urls: ['turn:127.0.0.1:3478?transport=udp'], username: '9:mwa', credential: 'c' }];
    assert.deepEqual(rtcConfiguration(withStun, relay, false), { iceServers: [...relay, { urls: 'stun:127.0.0.1:3478' }], iceTransportPolicy: 'all' });
    assert.equal(rtcConfiguration(withStun, undefined, true).iceTransportPolicy, 'relay');
    assert.deepEqual(peerOptions('http://127.0.0.1:9000', config, 't', rtcConfiguration(config, relay, true)).config.iceServers, relay);
    assert.equal(hasRelay(relay), true);
    assert.equal(hasRelay([{ urls: 'turns:relay.example:443' }]), true);
    assert.equal(hasRelay(withStun.iceServers), false);
  });
});
