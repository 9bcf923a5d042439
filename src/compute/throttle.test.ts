import { checkCap, DutyCycle } from './throttle.ts';

Deno.test('DutyCycle idles t*(1-c)/c after a task: 100 ms at cap 0.25 owes 300 ms', () => {
  const d = new DutyCycle(0.25);
  if (d.idleAfter(100) !== 300) throw new Error(`got ${d.idleAfter(100)}`);
  d.record(1000, 1100);
  if (d.waitMs(1100) !== 300 || d.waitMs(1350) !== 50 || d.waitMs(2000) !== 0) {
    throw new Error(`waits ${d.waitMs(1100)} ${d.waitMs(1350)} ${d.waitMs(2000)}`);
  }
});

Deno.test('DutyCycle at cap 1 never idles', () => {
  const d = new DutyCycle(1);
  d.record(0, 500);
  if (d.waitMs(500) !== 0) throw new Error('cap 1 idled');
});

Deno.test('checkCap() accepts 0.05..1 and throws RangeError naming the cap otherwise', () => {
  checkCap('cpuCap', 0.05);
  checkCap('cpuCap', 1);
  for (const bad of [0, 0.049, 1.01, Number.NaN, -1]) {
    let err: unknown;
    try {
      checkCap('cpuCap', bad);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof RangeError) || !err.message.includes("'cpuCap'")) throw new Error(`accepted ${bad}`);
  }
  const d = new DutyCycle(0.5);
  let threw = false;
  try {
    d.cap = 2;
  } catch (e) {
    threw = e instanceof RangeError;
  }
  if (!threw || d.cap !== 0.5) throw new Error('setter accepted 2');
});
