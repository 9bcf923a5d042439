// scripts/ensure-deps.sh, the first step of `npm test`: checked against a fake root and a fake PATH
// (MESHWORK_DEPS_ROOT, MESHWORK_DEPS_UID), so no test installs or needs anything on this machine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

const SCRIPT = new URL('../scripts/ensure-deps.sh', import.meta.url).pathname;
const BASH = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p)) ?? 'bash';
const TOOLS = ['mkdir', 'dirname', 'chmod', 'rm', 'touch', 'cat'];

/** A fake machine: `root` for the file checks, `bin` as the whole PATH (with the few tools the script uses). */
async function fakeMachine(): Promise<{ root: string; bin: string; log: string }> {
  const root = await Deno.makeTempDir({ prefix: 'meshwork-deps-' });
  const bin = `${root}/fake-bin`;
  await Deno.mkdir(bin);
  for (const tool of TOOLS) {
    const real = ['/usr/bin', '/bin'].map((d) => `${d}/${tool}`).find((p) => existsSync(p));
    if (real) await Deno.symlink(real, `${bin}/${tool}`);
  }
  return { root, bin, log: `${root}/calls.log` };
}

async function file(path: string, text = '', mode = 0o755): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true });
  await Deno.writeTextFile(path, text, { mode });
}

/** Everything present: chromium, lavapipe, PostgreSQL 15, fonts as files; the commands on the fake PATH. */
async function installAll(m: { root: string; bin: string }, except: string[] = []): Promise<void> {
  const files: Record<string, string> = {
    chromium: '/usr/bin/chromium',
    'mesa-vulkan-drivers': '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
    postgresql: '/usr/lib/postgresql/15/bin/initdb',
    'fonts-dejavu-core': '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  };
  const commands: Record<string, string> = { 'nats-server': 'nats-server', coturn: 'turnserver', iproute2: 'ip', 'util-linux': 'unshare' };
  for (const [pkg, path] of Object.entries(files)) if (!except.includes(pkg)) await file(m.root + path);
  for (const [pkg, cmd] of Object.entries(commands)) if (!except.includes(pkg)) await file(`${m.bin}/${cmd}`, '#!/bin/sh\n');
}

async function run(m: { root: string; bin: string }, uid: number, env: Record<string, string> = {}) {
  const started = performance.now();
  const out = await new Deno.Command(BASH, {
    args: [SCRIPT],
    clearEnv: true,
    env: { PATH: m.bin, MESHWORK_DEPS_ROOT: m.root, MESHWORK_DEPS_UID: String(uid), ...env },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr), ms: performance.now() - started };
}

describe('scripts/ensure-deps.sh', () => {
  it('exits 0 at once, silent, when every package is present', async () => {
    const m = await fakeMachine();
    try {
      await installAll(m);
      const r = await run(m, 1000);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
      assert.ok(r.ms < 500, `took ${r.ms} ms`);
    } finally {
      await Deno.remove(m.root, { recursive: true });
    }
  });

  it('not root: prints exactly one line, the command to run, and exits 1 within a second', async () => {
    const m = await fakeMachine();
    try {
      await installAll(m, ['chromium', 'coturn', 'postgresql']);
      const r = await run(m, 1000);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium postgresql coturn {2}# [^\n]*\n$/);
      assert.ok(r.ms < 1000, `took ${r.ms} ms`);
      // A browser at $CHROME_PATH will do instead of the chromium package.
      await file(`${m.root}/opt/chrome`);
      const withChrome = await run(m, 1000, { CHROME_PATH: `${m.root}/opt/chrome` });
      assert.match(withChrome.stdout, /--no-install-recommends postgresql coturn {2}#/);
      assert.equal(withChrome.stdout.split('\n').length, 2);
    } finally {
      await Deno.remove(m.root, { recursive: true });
    }
  });

  it('as root: installs what is missing noninteractively, keeps coturn and nats-server from running, and carries on', async () => {
    const m = await fakeMachine();
    try {
      await installAll(m, ['coturn', 'nats-server', 'fonts-dejavu-core']);
      // apt-get stand-in: logs its calls, asks policy-rc.d whether coturn may start, then "installs" the packages.
      await file(`${m.bin}/apt-get`, `#!/bin/sh
echo "apt-get $DEBIAN_FRONTEND $*" >> ${m.log}
[ "$1" = install ] || exit 0
"${m.root}/usr/sbin/policy-rc.d" coturn start; echo "policy coturn $?" >> ${m.log}
"${m.root}/usr/sbin/policy-rc.d" postgresql start; echo "policy postgresql $?" >> ${m.log}
printf '#!/bin/sh\\n' > ${m.bin}/turnserver; chmod 755 ${m.bin}/turnserver
printf '#!/bin/sh\\n' > ${m.bin}/nats-server; chmod 755 ${m.bin}/nats-server
mkdir -p ${m.root}/lib/systemd/system ${m.root}/usr/share/fonts/truetype/dejavu
touch ${m.root}/lib/systemd/system/coturn.service ${m.root}/lib/systemd/system/nats-server.service ${m.root}/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
`);
      await file(`${m.bin}/systemctl`, `#!/bin/sh\necho "systemctl $*" >> ${m.log}\n`);
      const r = await run(m, 0);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.deepEqual((await Deno.readTextFile(m.log)).trim().split('\n'), [
        'apt-get noninteractive update -q',
        'apt-get noninteractive install -y -q --no-install-recommends nats-server coturn fonts-dejavu-core',
        'policy coturn 101',
        'policy postgresql 0',
        'systemctl disable --now coturn.service',
        'systemctl disable --now nats-server.service',
      ]);
      assert.equal(existsSync(`${m.root}/usr/sbin/policy-rc.d`), false, 'the temporary policy-rc.d is gone');
      // Now complete: the next run is the fast, silent one.
      assert.deepEqual((await run(m, 0)).code, 0);
    } finally {
      await Deno.remove(m.root, { recursive: true });
    }
  });

  it('as root: fails naming what apt-get did not install, and leaves an existing policy-rc.d alone', async () => {
    const m = await fakeMachine();
    try {
      await installAll(m, ['iproute2']);
      await file(`${m.bin}/apt-get`, '#!/bin/sh\nexit 0\n');
      await file(`${m.root}/usr/sbin/policy-rc.d`, '#!/bin/sh\nexit 101\n');
      const r = await run(m, 0);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Cannot prepare this machine for npm test as iproute2 is still missing after apt-get install/);
      assert.equal(await Deno.readTextFile(`${m.root}/usr/sbin/policy-rc.d`), '#!/bin/sh\nexit 101\n');
    } finally {
      await Deno.remove(m.root, { recursive: true });
    }
  });
});
