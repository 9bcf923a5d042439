import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coturnConfig } from './coturn.ts';
import { DEFAULT_PORTS, parseClusterOptions } from './options.ts';

describe('parseClusterOptions()', () => {
  it('uses the default ports and ./data/cluster when nothing is given', () => {
    const o = parseClusterOptions([], {}, '/repo');
    assert.deepEqual(o, {
      dataDir: '/repo/data/cluster',
      pgPort: DEFAULT_PORTS.pg,
      natsPort: DEFAULT_PORTS.nats,
      turnPort: DEFAULT_PORTS.turn,
      httpPort: DEFAULT_PORTS.http,
      relayPorts: [...DEFAULT_PORTS.relay],
      coordinatorArgs: [],
    });
  });

  it('derives every port from the base port, and a flag beats the environment beats the base', () => {
    const env = { MESHWORK_CLUSTER_BASE_PORT: '40000', MESHWORK_CLUSTER_NATS_PORT: '41000' };
    const o = parseClusterOptions(['--nats-port=42000', '--data-dir', '/tmp/c/', '--relay-ports', '50000-50010'], env, '/repo');
    assert.deepEqual([o.pgPort, o.natsPort, o.turnPort, o.httpPort], [40000, 42000, 40002, 40003]);
    assert.equal(o.dataDir, '/tmp/c');
    assert.deepEqual(o.relayPorts, [50000, 50010]);
    assert.equal(parseClusterOptions([], env, '/repo').natsPort, 41000);
  });

  it('passes everything after -- to the coordinators', () => {
    assert.deepEqual(parseClusterOptions(['--pg-port', '6000', '--', '--log-level', 'debug'], {}, '/r').coordinatorArgs, ['--log-level', 'debug']);
  });

  it('refuses unknown flags, bad ports, bad ranges and two services on one port', () => {
    assert.throws(() => parseClusterOptions(['--nope', '1'], {}, '/r'), /'--nope' is not a known flag/);
    assert.throws(() => parseClusterOptions(['--pg-port', '70000'], {}, '/r'), RangeError);
    assert.throws(() => parseClusterOptions(['--relay-ports', '50010-50000'], {}, '/r'), /A-B/);
    assert.throws(() => parseClusterOptions(['--http-port', '4221'], {}, '/r'), /share a port/); // c2 on 4222, NATS's
    assert.throws(() => parseClusterOptions(['--pg-port'], {}, '/r'), /has no value/);
  });
});

describe('coturnConfig()', () => {
  it('relays on loopback with REST credentials, no TLS, and no private-range deny rules', () => {
    const conf = coturnConfig({ port: 3478, relayPorts: [49152, 49183], secret: 'a'.repeat(64), dir: '/d' });
    const settings = conf.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    for (const s of ['listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', 'listening-port=3478', 'min-port=49152', 'max-port=49183', 'use-auth-secret', `static-auth-secret=${'a'.repeat(64)}`, 'realm=meshwork', 'no-cli', 'allow-loopback-peers', 'no-multicast-peers']) {
      assert.ok(settings.includes(s), s);
    }
    assert.ok(!settings.some((s) => s.startsWith('denied-peer-ip')));
  });
});
