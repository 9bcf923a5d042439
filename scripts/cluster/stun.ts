/**
 * A STUN Binding request (RFC 8489), over UDP or TCP: the cheapest proof that a STUN/TURN server answers on a
 * port. Binding needs no credentials, even with coturn's `use-auth-secret`.
 */
import { createSocket } from 'node:dgram';

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;

/** Resolves true when a Binding success response for our transaction arrives within `timeoutMs`. */
export function stunBinding(host: string, port: number, transport: 'udp' | 'tcp', timeoutMs = 1000): Promise<boolean> {
  const id = crypto.getRandomValues(new Uint8Array(12));
  const request = new Uint8Array(20);
  const view = new DataView(request.buffer);
  view.setUint16(0, BINDING_REQUEST);
  view.setUint16(2, 0);
  view.setUint32(4, MAGIC_COOKIE);
  request.set(id, 8);
  return transport === 'udp' ? overUdp(host, port, request, id, timeoutMs) : overTcp(host, port, request, id, timeoutMs);
}

function isSuccess(msg: Uint8Array, id: Uint8Array): boolean {
  if (msg.length < 20) return false;
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return view.getUint16(0) === BINDING_SUCCESS && view.getUint32(4) === MAGIC_COOKIE && id.every((b, i) => msg[8 + i] === b);
}

function overUdp(host: string, port: number, request: Uint8Array, id: Uint8Array, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('message', (msg: Uint8Array) => isSuccess(msg, id) && done(true));
    socket.on('error', () => done(false));
    socket.send(request, port, host);
  });
}

async function overTcp(host: string, port: number, request: Uint8Array, id: Uint8Array, timeoutMs: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), timeoutMs);
  try {
    conn = await Deno.connect({ hostname: host, port });
    await conn.write(request);
    const buf = new Uint8Array(512);
    let got = 0;
    while (got < 20) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) return false;
      got += n;
    }
    return isSuccess(buf.subarray(0, got), id);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
  }
}
