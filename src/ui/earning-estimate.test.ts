import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { creditsPerHourText, microPerHour } from './earning-estimate.ts';

describe('earning-estimate', () => {
  it('microPerHour() scales the faster of CPU and GPU by its cap, 1000 work units per GFLOP, and the ask', () => {
    // 5 GFLOP/s at 25% -> 1.25 GFLOP/s -> 1250 units/s -> 4.5e6 units/h at 1 micro-credit each
    assert.equal(microPerHour({ cpu: 5 }, { cpuCap: 0.25, gpuCap: 0.25 }, 1), 4_500_000);
    assert.equal(microPerHour({ cpu: 5, gpu: 100 }, { cpuCap: 1, gpuCap: 0.5 }, 2), 50 * 1000 * 3600 * 2);
    assert.equal(microPerHour({ cpu: 5 }, { cpuCap: 1, gpuCap: 1 }, 0), 0);
    assert.equal(microPerHour(undefined, { cpuCap: 1, gpuCap: 1 }, 1), undefined);
  });

  it('creditsPerHourText() rounds by magnitude', () => {
    assert.equal(creditsPerHourText(4_500_000), '4.5');
    assert.equal(creditsPerHourText(360_000_000), '360');
    assert.equal(creditsPerHourText(1234), '0.001');
    assert.equal(creditsPerHourText(undefined), '—');
  });
});
