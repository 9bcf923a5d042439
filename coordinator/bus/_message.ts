/** Pieces both engines share: subject checks, payload sizes and the lazily decoded message. */
import { type BusMessage, SUBJECT } from './types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Throws TypeError unless `subject` is a valid bus subject. */
export function checkSubject(subject: string): void {
  if (subject.length > 128 || !SUBJECT.test(subject)) {
    throw new TypeError(`Cannot use bus subject as it must be dot-separated words of [A-Za-z0-9_-], at most 128 characters: current value is ${JSON.stringify(subject.slice(0, 140))}`);
  }
}

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
        continue;
      }
      n += 2;
    } else n += 2;
  }
  return n;
}

/** Throws RangeError when a payload of `size` bytes exceeds `max`. */
export function checkSize(subject: string, size: number, max: number): void {
  if (size > max) throw new RangeError(`Cannot publish to ${subject} as payloads must be at most ${max} bytes: current size is ${size}`);
}

/** A message whose payload is decoded on first use, from whichever form the engine delivered. */
export class LazyMessage implements BusMessage {
  #bytes: Uint8Array | undefined;
  #text: string | undefined;
  readonly size: number;

  constructor(readonly subject: string, payload: Uint8Array | string, size?: number) {
    if (typeof payload === 'string') this.#text = payload;
    else this.#bytes = payload;
    this.size = size ?? (typeof payload === 'string' ? utf8Length(payload) : payload.byteLength);
  }

  /** The payload as bytes. */
  bytes(): Uint8Array {
    return this.#bytes ??= encoder.encode(this.#text!);
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return this.#text ??= decoder.decode(this.#bytes!);
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}
