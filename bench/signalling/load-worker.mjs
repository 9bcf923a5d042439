// One load-generator process of `npm run bench -- signalling` (forked by bench/signalling.mjs, commands over
// IPC). It holds its share of the PeerJS connections as raw WebSockets over node:net: frames are built once per
// connection (zero mask key, valid per RFC 6455) and server frames are recognised without JSON parsing, so a
// relayed message costs this process one read and one write, far less than the server's work for it.
// Connection 2k and 2k+1 of a worker are partners: the even one sends CANDIDATE frames (a closed loop of
// `window` in flight), the odd one answers each with one; round trips are timed at the even one.
import net from 'node:net';

const CANDIDATE = Buffer.from('"type":"CANDIDATE"');
const OPEN = Buffer.from('"type":"OPEN"');
/** Round-trip histogram: 50 µs buckets up to 2 s. */
const BUCKET_MS = 0.05;
const BUCKETS = 40_000;

/** @type {Conn[]} */
let conns = [];
let running = false;
let counting = false;
let received = 0;
let refused = 0;
let hist = new Uint32Array(BUCKETS);
let heartbeat;
// MESHWORK_SIGNAL_TRACE=FILE: round trips slower than MESHWORK_SIGNAL_TRACE_MS (200) are written to FILE.PID.json
// as [sent at ms since run start, duration ms, connection index, ms until the partner answered, sent at (epoch ms),
// sender id, partner id, partner answered at (epoch ms)], to find which leg of a slow round trip waited.
const TRACE = process.env.MESHWORK_SIGNAL_TRACE;
const TRACE_MS = Number(process.env.MESHWORK_SIGNAL_TRACE_MS ?? 200);
let slow = [];
let runStart = 0;
let byIdx;

/**
 * @typedef {{ id: string, sock: net.Socket, frame: Buffer, pending: Buffer | null, open: boolean,
 *   sent: number[], onOpen: (() => void) | null, partner: number, index: number }} Conn
 */

/** A masked client text frame with a zero mask key. */
function clientFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n, 0, 0, 0, 0]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff, 0, 0, 0, 0]);
  if (n > 0xffff) throw new RangeError(`Cannot build a frame of ${n} bytes in the load generator`);
  return Buffer.concat([head, payload]);
}

function candidateFor(dst) {
  return JSON.stringify({
    type: 'CANDIDATE',
    dst,
    payload: {
      candidate: { candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.10 53705 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag 8hhy network-cost 999', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: '8hhy' },
      type: 'data',
      connectionId: 'dc_0123456789ab',
    },
  });
}

const HEARTBEAT = clientFrame('{"type":"HEARTBEAT"}');

function onFrame(c, opcode, payload) {
  if (opcode !== 1) return;
  if (payload.indexOf(CANDIDATE) >= 0) {
    if (!running) return;
    if (counting) received++;
    if ((c.index & 1) === 1) {
      if (TRACE) c.leg = performance.now();
      c.sock.write(c.frame);
      return;
    }
    const t0 = c.sent.shift();
    const now = performance.now();
    if (counting && t0 !== undefined) {
      hist[Math.min(BUCKETS - 1, Math.floor((now - t0) / BUCKET_MS))]++;
      if (TRACE && now - t0 > TRACE_MS) slow.push([Math.round(t0 - runStart), Math.round(now - t0), c.index, Math.round(byIdx.get(c.index ^ 1).leg - t0), performance.timeOrigin + t0, c.id, byIdx.get(c.index ^ 1).id, performance.timeOrigin + byIdx.get(c.index ^ 1).leg]);
    }
    c.sent.push(now);
    c.sock.write(c.frame);
    return;
  }
  if (payload.indexOf(OPEN) >= 0 && !c.open) {
    c.open = true;
    c.onOpen?.();
    return;
  }
  if (counting) refused++;
}

function onData(c, chunk) {
  let buf = c.pending ? Buffer.concat([c.pending, chunk]) : chunk;
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const opcode = buf[off] & 0x0f;
    let len = buf[off + 1] & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - off < 4) break;
      len = buf.readUInt16BE(off + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - off < 10) break;
      len = Number(buf.readBigUInt64BE(off + 2));
      head = 10;
    }
    if (buf.length - off < head + len) break;
    onFrame(c, opcode, buf.subarray(off + head, off + head + len));
    off += head + len;
  }
  c.pending = off === buf.length ? null : Buffer.from(buf.subarray(off));
}

function connect(port, path, id, index, partnerId) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setNoDelay(true);
    /** @type {Conn} */
    const c = { id, sock, frame: clientFrame(candidateFor(partnerId)), pending: null, open: false, sent: [], onOpen: null, partner: index ^ 1, index };
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`Cannot open ${id}: no OPEN within 20 s`)), 20_000);
    const fail = (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    c.onOpen = () => {
      clearTimeout(timer);
      c.onOpen = null;
      resolve(c);
    };
    sock.on('error', (err) => (c.open ? undefined : fail(err)));
    sock.on('close', () => (c.open ? undefined : fail(new Error(`Cannot open ${id}: closed`))));
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!status.startsWith('HTTP/1.1 101')) return fail(new Error(`Cannot open ${id}: ${status}`));
      sock.off('data', onHead);
      sock.on('data', (d) => onData(c, d));
      if (end + 4 < head.length) onData(c, head.subarray(end + 4));
    };
    sock.on('data', onHead);
    const key = Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString('base64');
    sock.write(`GET ${path}?key=peerjs&id=${id}&token=t${index}&version=1.5.5 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

async function open({ port, path, prefix, count, concurrency }) {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}c${i}`);
  conns = new Array(count);
  let next = 0;
  let failed = 0;
  let firstError = '';
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      try {
        conns[i] = await connect(port, path, ids[i], i, ids[i ^ 1]);
      } catch (err) {
        failed++;
        firstError ||= err.message;
      }
    }
  }));
  conns = conns.filter(Boolean);
  heartbeat = setInterval(() => {
    for (const c of conns) c.sock.write(HEARTBEAT);
  }, 10_000);
  return { opened: conns.length, failed, firstError };
}

async function run({ warmupMs, ms, activePairs, window }) {
  running = true;
  received = 0;
  refused = 0;
  hist = new Uint32Array(BUCKETS);
  slow = [];
  runStart = performance.now();
  const byIndex = new Map(conns.map((c) => [c.index, c]));
  byIdx = byIndex;
  let pairs = 0;
  for (const c of conns) {
    if ((c.index & 1) === 1 || !byIndex.has(c.index ^ 1) || pairs >= activePairs) continue;
    pairs++;
    for (let k = 0; k < window; k++) {
      c.sent.push(performance.now());
      c.sock.write(c.frame);
    }
  }
  await new Promise((r) => setTimeout(r, warmupMs));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  counting = true;
  await new Promise((r) => setTimeout(r, ms));
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  running = false;
  // Let the loop drain so the server is quiet before the caller closes.
  await new Promise((r) => setTimeout(r, 300));
  for (const c of conns) c.sent.length = 0;
  if (TRACE) (await import('node:fs')).writeFileSync(`${TRACE}.${process.pid}.json`, JSON.stringify({ warmupMs, slow }));
  return { received, refused, seconds, pairs, cpuSeconds: (cpu.user + cpu.system) / 1e6, hist: Array.from(hist) };
}

async function close() {
  clearInterval(heartbeat);
  await Promise.all(conns.map((c) => new Promise((resolve) => {
    c.sock.once('close', resolve);
    c.sock.destroy();
  })));
  const n = conns.length;
  conns = [];
  return { closed: n };
}

const COMMANDS = { open, run, close };
process.on('message', async (msg) => {
  try {
    process.send({ id: msg.id, ok: true, value: await COMMANDS[msg.cmd](msg.args) });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: err.message });
  }
});
process.on('disconnect', () => process.exit(0));
