import * as Comlink from 'comlink';
import { MeshError } from '../protocol/errors.ts';
import { installWireErrors } from './wire-errors.ts';

installWireErrors(Comlink.transferHandlers);

/** A real comlink round trip over a MessageChannel (the same protocol a Worker uses). */
function connect<T>(obj: T): { remote: Comlink.Remote<T>; close(): void } {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(obj, port1);
  const remote = Comlink.wrap<T>(port2);
  return { remote, close: () => { port1.close(); port2.close(); } };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

Deno.test('a MeshError thrown behind comlink arrives as MeshError with its code, name and message', async () => {
  const { remote, close } = connect({
    fail() {
      throw new MeshError('gpu-validation', 'Cannot compile WGSL as it has 1 error(s): 3:7: bad');
    },
  });
  const err = await caught(remote.fail());
  close();
  if (!(err instanceof MeshError)) throw new Error(`expected MeshError, got ${(err as Error)?.constructor?.name}`);
  if (err.code !== 'gpu-validation' || err.name !== 'MeshError' || !err.message.includes('3:7: bad')) {
    throw new Error(`lost fields: ${err.name} ${err.code} ${err.message}`);
  }
});

Deno.test('a RangeError thrown behind comlink arrives as a RangeError, so instanceof checks keep working', async () => {
  const { remote, close } = connect({
    fail(): Promise<never> {
      return Promise.reject(new RangeError('Cannot set cap as it must be in [0.05, 1]: current value is 7'));
    },
  });
  const err = await caught(remote.fail());
  close();
  if (!(err instanceof RangeError) || !(err as Error).message.includes('current value is 7')) throw new Error(String(err));
});

Deno.test('a thrown non-Error value passes through unchanged', async () => {
  const { remote, close } = connect({
    fail() {
      throw { reason: 'plain' };
    },
  });
  const err = await caught(remote.fail());
  close();
  if ((err as { reason?: string }).reason !== 'plain') throw new Error(JSON.stringify(err));
});

Deno.test('installWireErrors() is idempotent and refuses a map without a throw handler', () => {
  const before = Comlink.transferHandlers.get('throw');
  installWireErrors(Comlink.transferHandlers);
  if (Comlink.transferHandlers.get('throw') !== before) throw new Error('second install replaced the handler');
  let threw = false;
  try {
    installWireErrors(new Map());
  } catch (e) {
    threw = e instanceof TypeError;
  }
  if (!threw) throw new Error('expected TypeError');
});
