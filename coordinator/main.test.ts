import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

describe('main.ts', () => {
  it('prints one listening line, serves, and exits 0 on SIGTERM', async () => {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: ['run', '--allow-all', new URL('./main.ts', import.meta.url).pathname, '--port', '0', '--data', ':memory:', '--static', '/nonexistent'],
      stdout: 'piped',
      stderr: 'piped',
    });
    const child = cmd.spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const line = JSON.parse(text.split('\n')[0]!);
    assert.equal(line.msg, 'listening');
    assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(line.descriptors.soft >= 1024 && line.descriptors.soft <= line.descriptors.hard, JSON.stringify(line.descriptors));
    const health = await fetch(`${line.url}/healthz`);
    assert.deepEqual(await health.json(), { ok: true });
    child.kill('SIGTERM');
    const drain = (async () => {
      for (;;) if ((await reader.read()).done) break;
    })();
    const [status] = await Promise.all([child.status, drain, child.stderr.cancel()]);
    assert.equal(status.code, 0);
  });

  it('exits 2 with the reason on a bad flag', async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ['run', '--allow-all', new URL('./main.ts', import.meta.url).pathname, '--fee-rate', 'lots'],
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /'--fee-rate'/);
  });
});
