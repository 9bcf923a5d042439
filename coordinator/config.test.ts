import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, ledgerPath, parseOptions, USAGE } from './config.ts';

describe('parseOptions()', () => {
  it('returns the documented defaults without flags', () => {
    assert.deepEqual(parseOptions([]), DEFAULTS);
  });

  it('reads both flag forms, the ICE list and environment overrides, flags winning', () => {
    const o = parseOptions(
      ['--port=9000', '--data', '/tmp/x', '--fee-rate', '0.1', '--ice', '[{"urls":"turn:127.0.0.1:3478","username":"u","credential":"p"}]'],
      { PORT: '1234', MESHWORK_DATA: '/env/data' },
    );
    assert.deepEqual([o.port, o.data, o.feeRate, o.iceServers[0]?.username], [9000, '/tmp/x', 0.1, 'u']);
    assert.equal(parseOptions([], { PORT: '1234', MESHWORK_DATA: '/env/data' }).data, '/env/data');
  });

  it('reads the connection limits and timeouts', () => {
    const o = parseOptions(['--max-conns', '500', '--max-conns-per-ip=20', '--header-timeout-ms', '2500', '--idle-timeout-ms', '9000']);
    assert.deepEqual([o.maxConns, o.maxConnsPerIp, o.headerTimeoutMs, o.idleTimeoutMs], [500, 20, 2500, 9000]);
    assert.deepEqual([DEFAULTS.maxConns, DEFAULTS.maxConnsPerIp, DEFAULTS.headerTimeoutMs, DEFAULTS.idleTimeoutMs], [10_000, 256, 10_000, 30_000]);
    assert.throws(() => parseOptions(['--max-conns', '0']), /'--max-conns' as it must be an integer in \[1, 10000000\]: current value is 0/);
    assert.throws(() => parseOptions(['--header-timeout-ms', '5']), /'--header-timeout-ms'/);
    assert.throws(() => parseOptions(['--idle-timeout-ms', '-1']), /'--idle-timeout-ms'/);
  });

  it('lists every flag in USAGE', () => {
    for (const flag of ['--max-conns ', '--max-conns-per-ip', '--header-timeout-ms', '--idle-timeout-ms']) assert.ok(USAGE.includes(flag), flag);
  });

  it('names the flag and value it refuses', () => {
    assert.throws(() => parseOptions(['--port', 'eighty']), /'--port' as it must be an integer in \[0, 65535\]: current value is eighty/);
    assert.throws(() => parseOptions(['--fee-rate', '1.5']), /'--fee-rate'/);
    assert.throws(() => parseOptions(['--ice', '[{"url":"x"}]']), /'--ice'/);
    assert.throws(() => parseOptions(['--nope', '1']), /'--nope' is not a known flag/);
    assert.throws(() => parseOptions(['--port']), /has no value/);
    assert.throws(() => parseOptions(['--bus', 'nats://127.0.0.1:4222']), /'--bus' needs '--store postgres:\/\/...'/);
    const o = parseOptions(['--bus', 'nats://127.0.0.1:4222', '--store', 'postgres://u@127.0.0.1/m', '--instance-id', 'c1']);
    assert.deepEqual([o.bus, o.store, o.instanceId], ['nats://127.0.0.1:4222', 'postgres://u@127.0.0.1/m', 'c1']);
  });

  it('ledgerPath() puts the KV file in the data folder and keeps :memory:', () => {
    assert.equal(ledgerPath('./data/'), './data/ledger.kv');
    assert.equal(ledgerPath(':memory:'), ':memory:');
  });
});
