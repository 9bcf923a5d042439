/**
 * The payer's receipts against a stand-in coordinator session that records each receipt and answers with its
 * price: one cumulative receipt per lease, and a bounded book of lease accounts under replica churn.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, identityFromKeyPair } from '../../core/identity.ts';
import type { ServeLease } from '../../protocol/serving.ts';
import type { SessionContext } from '../session.ts';
import { MAX_ACCOUNTS, RECEIPT_EVERY, ServeReceipts } from './serve-receipts.ts';

function lease(i: number): ServeLease {
  return { leaseId: `l${i}`, serviceId: 's1', client: 'mwclient', contributor: `mwpeer${i}`, price: 1, expiresAt: Date.now() + 60_000, role: 'replica' };
}

async function setup() {
  const sent: { leaseId: string; workUnits: number }[] = [];
  const ctx = {
    identity: await identityFromKeyPair(await generateKeyPair()),
    coordinator: {
      request(frame: { type: string; receipt: { leaseId: string; workUnits: number } }) {
        sent.push({ leaseId: frame.receipt.leaseId, workUnits: frame.receipt.workUnits });
        return Promise.resolve({ amount: 1, fee: 0 });
      },
    },
  } as unknown as SessionContext;
  return { receipts: new ServeReceipts(ctx), sent };
}

describe('ServeReceipts', () => {
  it('sends one cumulative receipt per lease after RECEIPT_EVERY answers', async () => {
    const { receipts, sent } = await setup();
    for (let i = 0; i < RECEIPT_EVERY; i++) receipts.answered(lease(0), 1);
    await receipts.flushAll();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.leaseId, 'l0');
    receipts.dispose();
  });

  it('keeps at most MAX_ACCOUNTS lease accounts under replica churn, dropping only settled ones', async () => {
    const { receipts, sent } = await setup();
    for (let i = 0; i < MAX_ACCOUNTS * 3; i++) {
      receipts.answered(lease(i), 1);
      await receipts.flush(`l${i}`);
    }
    assert.ok(receipts.size <= MAX_ACCOUNTS, `accounts ${receipts.size}`);
    assert.equal(sent.length, MAX_ACCOUNTS * 3, 'every lease was paid for its work');
    // An account with unreceipted work is never dropped: its next receipt still covers everything.
    const pending = await setup();
    for (let i = 0; i < MAX_ACCOUNTS + 5; i++) pending.receipts.answered(lease(i), 1);
    assert.equal(pending.receipts.size, MAX_ACCOUNTS + 5);
    await pending.receipts.flushAll();
    assert.equal(pending.sent.length, MAX_ACCOUNTS + 5);
    receipts.dispose();
    pending.receipts.dispose();
  });
});
