import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, isLoopback, networkOf, placementKey } from './network.ts';

describe('limits: networks', () => {
  it('networkOf() groups IPv4 by /24 and IPv6 by /48, loopback as one', () => {
    assert.equal(networkOf('198.51.100.7'), '198.51.100.0/24');
    assert.equal(networkOf('198.51.100.200'), '198.51.100.0/24');
    assert.equal(networkOf('::ffff:203.0.113.9'), '203.0.113.0/24');
    assert.equal(networkOf('2001:db8:1:2::5'), '2001:db8:1::/48');
    assert.equal(networkOf('2001:0db8:0001:ffff::'), '2001:db8:1::/48');
    assert.equal(networkOf('127.0.0.1'), 'loopback');
    assert.equal(networkOf('::1'), 'loopback');
    assert.equal(networkOf('not-an-address'), 'other:not-an-address');
    assert.ok(isLoopback('127.8.9.10'));
    assert.ok(!isLoopback('10.0.0.1'));
  });

  it('placementKey() makes each loopback peer its own network and keeps others as they are', () => {
    assert.equal(placementKey('loopback', 'mwA'), 'loopback:mwA');
    assert.notEqual(placementKey('loopback', 'mwA'), placementKey('loopback', 'mwB'));
    assert.equal(placementKey('198.51.100.0/24', 'mwA'), placementKey('198.51.100.0/24', 'mwB'));
  });

  it('clientAddress() believes X-Forwarded-For only from a trusted proxy, and only its last hop', () => {
    const headers = new Headers({ 'x-forwarded-for': '192.0.2.1, 198.51.100.7' });
    assert.equal(clientAddress('127.0.0.1', headers, new Set()), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', headers, new Set(['127.0.0.1'])), '198.51.100.7');
    assert.equal(clientAddress('127.0.0.1', new Headers({ 'x-forwarded-for': 'evil; drop' }), new Set(['127.0.0.1'])), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', new Headers(), new Set(['127.0.0.1'])), '127.0.0.1');
  });
});
