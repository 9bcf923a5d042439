/**
 * A spot check that failed: two replicas answered one input with outputs out of tolerance. The coordinator
 * gets both signed answers (`serve-dispute`) and names an arbiter (a third replica, or a contributor placed
 * for this dispute); the input goes to it, and its signed answer goes back (`serve-arbitrate`), which decides
 * by hash. The caller gets the arbiter's outputs: the third opinion, and the one the verdict agrees with
 * whenever there is one.
 */
import type { ServeLease, SignedAnswer } from '../../protocol/serving.ts';
import type { TensorData } from '../../protocol/tensor.ts';
import type { SessionContext } from '../session.ts';
import { exchange, type PreparedRequest } from './serve-request.ts';
import type { ServeReceipts } from './serve-receipts.ts';

/** How the coordinator decided. */
export interface MismatchOutcome {
  verdict: 'upheld' | 'undecided';
  loser?: string;
  outputs: TensorData[];
}

/**
 * Runs the dispute; resolves with the arbiter's outputs and the verdict, or undefined when no arbiter could be
 * found or it did not answer within `timeoutMs` (the dispute then lapses and nobody is penalised).
 */
export async function arbitrateMismatch(
  ctx: SessionContext,
  serviceId: string,
  answers: [SignedAnswer, SignedAnswer],
  req: PreparedRequest,
  timeoutMs: number,
  receipts: ServeReceipts,
): Promise<MismatchOutcome | undefined> {
  let opened: { disputeId: string; arbiter: ServeLease };
  try {
    opened = await ctx.coordinator.request({ type: 'serve-dispute', serviceId, answers });
  } catch {
    return undefined;
  }
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    // A placed arbiter loads the model first: until its contributor serves the lease it answers 'busy'.
    const got = await exchange(ctx.network, opened.arbiter, req, Math.max(1, deadline - performance.now())).catch(() => undefined);
    if (!got) return undefined;
    if (got.kind === 'busy') {
      await new Promise((r) => setTimeout(r, Math.max(got.retryAfterMs, 100)));
      continue;
    }
    receipts.answered(opened.arbiter, req.items);
    try {
      const verdict = await ctx.coordinator.request<{ verdict: 'upheld' | 'undecided'; loser?: string }>({
        type: 'serve-arbitrate',
        serviceId,
        disputeId: opened.disputeId,
        answer: got.answer,
      });
      return { ...verdict, outputs: got.outputs };
    } catch {
      return { verdict: 'undecided', outputs: got.outputs };
    }
  }
  return undefined;
}
