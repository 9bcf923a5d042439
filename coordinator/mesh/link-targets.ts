/**
 * Where an embed's credits should go. The embed cannot ask the visitor's app window directly (a cross-origin
 * isolated host page severs the link to windows it opens), so the two meet here: the embed opens the app with a
 * random code; the app, on the visitor's confirmation, names itself as the code's target (`link-target`); the
 * embed looks the code up (`link-lookup`), signs a CreditLink to that identity and presents it (`link`).
 *
 * The first identity to name itself for a code keeps it; codes expire after TARGET_TTL_MS. Bounded: at most
 * MAX_TARGETS codes in all and MAX_PER_PEER per identity (the oldest is dropped for a new one).
 */
import { MeshError } from '../../src/protocol/errors.ts';

/** How long a code waits for its embed. */
export const TARGET_TTL_MS = 10 * 60_000;
/** Codes held at most. */
export const MAX_TARGETS = 10_000;
/** Codes one identity may hold at once. */
export const MAX_PER_PEER = 4;

interface Target {
  to: string;
  at: number;
}

/** Codes and the identities that claimed them. */
export class LinkTargets {
  readonly #byCode = new Map<string, Target>();

  constructor(readonly now: () => number = Date.now) {}

  /** Makes `to` the target of `code`; false when another identity holds it already. */
  claim(code: string, to: string): { claimed: boolean } {
    this.#sweep();
    const held = this.#byCode.get(code);
    if (held) return { claimed: held.to === to };
    const mine = [...this.#byCode].filter(([, t]) => t.to === to);
    if (mine.length >= MAX_PER_PEER) this.#byCode.delete(mine[0]![0]);
    if (this.#byCode.size >= MAX_TARGETS) {
      throw new MeshError('rate-limited', `Cannot hold credit link code as ${MAX_TARGETS} codes are waiting: try again in a few minutes`);
    }
    this.#byCode.set(code, { to, at: this.now() });
    return { claimed: true };
  }

  /** The identity that claimed `code`, if any (undefined while none has). */
  lookup(code: string): string | undefined {
    const t = this.#byCode.get(code);
    if (!t || this.now() - t.at > TARGET_TTL_MS) return undefined;
    return t.to;
  }

  /** Drops `code` (its link was presented). */
  used(code: string): void {
    this.#byCode.delete(code);
  }

  get size(): number {
    return this.#byCode.size;
  }

  /** Drops expired codes (Map order is insertion order, so the oldest come first). */
  #sweep(): void {
    const limit = this.now() - TARGET_TTL_MS;
    for (const [code, t] of this.#byCode) {
      if (t.at > limit) break;
      this.#byCode.delete(code);
    }
  }
}
