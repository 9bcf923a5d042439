/**
 * The outputs a pipeline stage's runs kept on their contributors: pulled only for runs whose hashes differ, so
 * the client can compare them within the job's tolerance.
 */
import type { SessionContext } from './session.ts';
import { pullOutputs } from './pipe-transfer.ts';
import { unpackOwned } from './owned-tensors.ts';
import type { ShardTally, Verdict } from './shard-tally.ts';

/** What fetchKept tells its caller per run: the tally's verdicts on its filled outputs, or that they could not be had. */
export interface KeptHandlers {
  filled(verdicts: Verdict[]): void;
  failed(leaseId: string, contributor: string): void;
}

/**
 * Pulls the kept outputs of the runs `leaseIds` of `tally` one after the other (a run with no claimed hash, or any
 * run once `over()` says the job ended, is skipped); a run whose outputs cannot be had is dropped from the tally.
 */
export async function fetchKept(network: SessionContext['network'], tally: ShardTally, leaseIds: string[], over: () => boolean, on: KeptHandlers): Promise<void> {
  for (const leaseId of leaseIds) {
    const run = tally.run(leaseId);
    if (!run?.outputHash || over()) continue;
    try {
      const link = await network.link(run.contributor);
      const pulled = await pullOutputs(link, { leaseId, outputHash: run.outputHash });
      on.filled(tally.fill(leaseId, unpackOwned(pulled.bytes, pulled.specs)));
    } catch {
      tally.drop(leaseId);
      on.failed(leaseId, run.contributor);
    }
  }
}
