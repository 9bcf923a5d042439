/**
 * One test suite for every ledger engine: each engine's test file calls `ledgerSuite(name, open)` with a
 * function that opens a fresh, empty ledger. After every test the books of each ledger it opened are checked
 * (sum of balances == minted, no negative balance, and the engine's own audit where it has one), then closed.
 */
import { afterEach, describe } from 'node:test';
import { assertBalanced, type OpenLedger, type SuiteContext, type SuiteLedger, STARTER } from './_suite-helpers.ts';
import { guardTests } from './_suite-guards.ts';
import { linkTests } from './_suite-links.ts';
import { paymentTests } from './_suite-payments.ts';
import { randomTests } from './_suite-random.ts';

export { assertBalanced, isMeshError, type OpenLedger, type SuiteContext, type SuiteLedger, STARTER } from './_suite-helpers.ts';

/** Registers the shared ledger tests under `describe(name)`. */
export function ledgerSuite(name: string, open: OpenLedger): void {
  describe(name, () => {
    const opened: SuiteLedger[] = [];
    const ctx: SuiteContext = {
      open: async (starterCredits) => {
        const ledger = await open(starterCredits);
        opened.push(ledger);
        return ledger;
      },
      withLedger: async (fn, starterCredits = STARTER) => await fn(await ctx.open(starterCredits)),
    };
    afterEach(async () => {
      const ledgers = opened.splice(0);
      try {
        for (const ledger of ledgers) await assertBalanced(ledger);
      } finally {
        for (const ledger of ledgers) await ledger.close();
      }
    });
    paymentTests(ctx);
    guardTests(ctx);
    linkTests(ctx);
    randomTests(ctx);
  });
}
