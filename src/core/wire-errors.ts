/**
 * Keeps `name`, `code` and `message` of errors thrown across a worker boundary. comlink's built-in
 * 'throw' handler rebuilds every error as a plain Error and drops `code`; this replaces it with one that
 * sends the protocol's WireError and rebuilds MeshError (or the built-in TypeError/RangeError, so
 * `instanceof` keeps working for argument errors). comlink is passed in, so core imports no package.
 */
import { type ErrorCode, fromWireError, toWireError, type WireError } from '../protocol/errors.ts';

/** The shape of a comlink TransferHandler (structurally identical, so comlink's map fits). */
export interface TransferHandlerLike<T, S> {
  canHandle(value: unknown): value is T;
  serialize(value: T): [S, Transferable[]];
  deserialize(value: S): T;
}

/** What the replacement 'throw' handler puts on the wire. */
type SerializedThrow = { wire: WireError; stack?: string } | { value: unknown };

const INSTALLED = Symbol.for('meshwork.wire-errors');

/** Built-in error classes rebuilt as themselves, so callers can test `instanceof RangeError`. */
const BUILTINS: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
};

/** Replaces comlink's 'throw' transfer handler in `handlers` (comlink.transferHandlers); idempotent. */
export function installWireErrors(handlers: Map<string, TransferHandlerLike<unknown, unknown>>): void {
  const original = handlers.get('throw');
  if (!original) throw new TypeError("Cannot install wire errors as the map has no 'throw' handler: current keys are " + [...handlers.keys()].join(','));
  if (INSTALLED in original) return;
  const handler: TransferHandlerLike<unknown, unknown> & { [INSTALLED]: true } = {
    [INSTALLED]: true,
    // comlink marks thrown values with a private symbol; only its own handler can recognise them.
    canHandle: (value: unknown): value is unknown => original.canHandle(value),
    serialize(thrown: unknown): [unknown, Transferable[]] {
      const value = (thrown as { value: unknown }).value;
      const out: SerializedThrow = value instanceof Error
        ? { wire: toWireError(value), ...(value.stack === undefined ? {} : { stack: value.stack }) }
        : { value };
      return [out, []];
    },
    deserialize(serialized: unknown): never {
      throw rebuildError(serialized as SerializedThrow);
    },
  };
  handlers.set('throw', handler);
}

/** Rebuilds the error a worker threw from its serialized form. */
export function rebuildError(serialized: { wire: WireError; stack?: string } | { value: unknown }): unknown {
  if (!('wire' in serialized)) return serialized.value;
  const { wire } = serialized;
  const Builtin = BUILTINS[wire.name];
  const err: Error & { code?: ErrorCode } = Builtin && wire.code === 'internal' ? new Builtin(wire.message) : fromWireError(wire);
  if (serialized.stack) err.stack = `${err.stack ?? ''}\n    --- in worker ---\n${serialized.stack}`;
  return err;
}
