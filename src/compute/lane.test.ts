import { Lane } from './lane.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test('Lane runs tasks one at a time in arrival order', async () => {
  const lane = new Lane('test');
  const log: string[] = [];
  let running = 0;
  const task = (id: string, ms: number) => async () => {
    running++;
    if (running > 1) throw new Error('two tasks ran at once');
    log.push(`start ${id}`);
    await sleep(ms);
    log.push(`end ${id}`);
    running--;
    return id;
  };
  const results = await Promise.all([lane.run(task('a', 20)), lane.run(task('b', 1)), lane.run(task('c', 5))]);
  if (results.join() !== 'a,b,c') throw new Error(results.join());
  if (log.join() !== 'start a,end a,start b,end b,start c,end c') throw new Error(log.join());
});

Deno.test('Lane at cap 0.5 idles about as long as the previous task ran before the next', async () => {
  const lane = new Lane('test', 0.5);
  const starts: number[] = [];
  const work = async () => {
    starts.push(performance.now());
    const t0 = performance.now();
    while (performance.now() - t0 < 40) { /* busy, like a shard */ }
  };
  await Promise.all([lane.run(work), lane.run(work)]);
  const gap = starts[1]! - starts[0]!;
  // 40 ms busy + 40 ms idle; timers are coarse, so accept 75..200 ms.
  if (gap < 75 || gap > 200) throw new Error(`gap ${gap.toFixed(1)} ms`);
});

Deno.test('Lane.run(job, {throttled: false}) neither waits for nor adds idle time', async () => {
  const lane = new Lane('test', 0.05);
  const t0 = performance.now();
  await lane.run(() => sleep(20), { throttled: false });
  await lane.run(() => sleep(1), { throttled: false });
  const took = performance.now() - t0;
  if (took > 150) throw new Error(`unthrottled jobs took ${took} ms (cap 0.05 would owe 380 ms)`);
});

Deno.test('Lane.fail() rejects running, queued and later tasks with the given error', async () => {
  const lane = new Lane('test');
  const stuck = lane.run(() => new Promise(() => {}));
  const queued = lane.run(async () => 1);
  const boom = new Error('worker died');
  lane.fail(boom);
  for (const p of [stuck, queued, lane.run(async () => 2)]) {
    const err = await p.then(() => undefined, (e) => e);
    if (err !== boom) throw new Error(`expected the lane error, got ${String(err)}`);
  }
});

Deno.test('Lane rejects a queued task with timeout once its deadline passes, and runs the rest', async () => {
  const lane = new Lane('gpu');
  const ran: string[] = [];
  const first = lane.run(async () => {
    await sleep(60);
    ran.push('first');
  });
  const late = lane.run(async () => void ran.push('late'), { deadline: Date.now() + 20 });
  const third = lane.run(async () => void ran.push('third'));
  const err = await late.then(() => undefined, (e: unknown) => e as { code?: string; message: string });
  if (err?.code !== 'timeout' || !/before its deadline/.test(err.message)) throw new Error(`expected timeout, got ${err?.message}`);
  await Promise.all([first, third]);
  if (ran.join() !== 'first,third') throw new Error(ran.join());
});
