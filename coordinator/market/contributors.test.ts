import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ContributorRegistry } from './contributors.ts';
import { Credibility, STRANGERS, TRUSTED, TRUSTED_AGREEMENTS } from './credibility.ts';
import { cpuCaps } from '../testing/fixtures.ts';

/** The index must equal what a scan of every registered contributor says. */
function assertIndexed(reg: ContributorRegistry): void {
  const all = [...reg.all()];
  const active = all.filter((c) => c.state === 'active').map((c) => c.peerId).sort();
  const credible = all.filter((c) => c.state === 'active' && reg.credibility.credible(c.peerId)).map((c) => c.peerId).sort();
  assert.deepEqual([...reg.taking()].map((c) => c.peerId).sort(), active);
  assert.deepEqual([...reg.taking(true)].map((c) => c.peerId).sort(), credible);
  assert.equal(reg.active, active.length);
}

function registry(policy = STRANGERS): ContributorRegistry {
  const reg = new ContributorRegistry(new Credibility(policy));
  for (const id of ['a', 'b', 'c', 'd']) reg.register(id, cpuCaps(), 1, 2, `net-${id}`, `net-${id}`);
  return reg;
}

/** Makes `peer` credible: bootstrapping agreements (nobody is credible yet), or agreeing with a credible one. */
function earn(cred: Credibility, peer: string, partner: string): void {
  for (let i = 0; i < TRUSTED_AGREEMENTS; i++) cred.agreed([peer, partner]);
}

describe('ContributorRegistry index of active and credible contributors', () => {
  it('taking() follows register, pause, resume, the circuit breaker and unregister', () => {
    const reg = registry();
    assertIndexed(reg);
    reg.setState(reg.get('a')!, 'paused');
    assertIndexed(reg);
    assert.equal(reg.active, 3);
    reg.force(reg.get('b')!, 'paused');
    assertIndexed(reg);
    reg.setState(reg.get('a')!, 'active');
    assertIndexed(reg);
    reg.unregister('c');
    assertIndexed(reg);
    assert.equal([...reg.taking()].some((c) => c.peerId === 'c'), false);
    reg.register('c', cpuCaps(), 1, 2, 'net-c', 'net-c');
    reg.register('a', cpuCaps(), 2, 4, 'net-a2', 'net-a2'); // an update keeps it indexed once
    assertIndexed(reg);
    assert.equal(reg.active, 3);
  });

  it('taking(true) follows credibility earned, lost on a failure, and restored from the store', () => {
    const reg = registry();
    const cred = reg.credibility;
    earn(cred, 'a', 'b'); // bootstrap: both gain agreements
    assertIndexed(reg);
    assert.ok([...reg.taking(true)].some((c) => c.peerId === 'a'));
    earn(cred, 'c', 'a');
    assertIndexed(reg);
    reg.setState(reg.get('c')!, 'paused');
    assertIndexed(reg);
    cred.failed('a');
    assertIndexed(reg);
    assert.equal([...reg.taking(true)].some((c) => c.peerId === 'a'), false);
    cred.load('d', { agreements: 9, failures: 0, recentFailures: 0, quarantinedUntil: 0, paid: 3, seen: 0 });
    assertIndexed(reg);
    assert.ok([...reg.taking(true)].some((c) => c.peerId === 'd'));
    reg.setState(reg.get('c')!, 'active');
    reg.unregister('d');
    assertIndexed(reg);
  });

  it('taking(true) holds every active contributor when everyone is trusted', () => {
    const reg = registry(TRUSTED);
    assertIndexed(reg);
    assert.equal(reg.taking(true).size, 4);
  });

  it('registerRemote() indexes the state another instance reports', () => {
    const reg = registry();
    const row = { peerId: 'r', caps: cpuCaps(), askPrice: 1, maxConcurrent: 2, network: 'net-r', placement: 'net-r', registeredAt: Date.now(), home: 'i2', load: 0, unpaid: 0 };
    reg.registerRemote({ ...row, state: 'paused' });
    assertIndexed(reg);
    reg.registerRemote({ ...row, state: 'active', registeredAt: row.registeredAt + 1 });
    assertIndexed(reg);
    assert.ok([...reg.taking()].some((c) => c.peerId === 'r'));
  });

  it('stays consistent under a random sequence of changes', () => {
    const reg = registry();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let step = 0; step < 500; step++) {
      const id = ids[Math.floor(rand() * ids.length)]!;
      const other = ids[Math.floor(rand() * ids.length)]!;
      const c = reg.get(id);
      const u = rand();
      if (!c || u < 0.15) reg.register(id, cpuCaps(), 1, 2, `net-${id}`, `net-${id}`);
      else if (u < 0.35) reg.force(c, c.state === 'active' ? 'paused' : 'active');
      else if (u < 0.45) reg.unregister(id);
      else if (u < 0.8) reg.credibility.agreed([id, other]);
      else reg.credibility.failed(id);
      assertIndexed(reg);
    }
  });
});
