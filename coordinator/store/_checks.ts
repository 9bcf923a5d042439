/** Argument checks shared by the market store engines, so both refuse the same values with the same message. */

/** Throws RangeError unless `limit` is a non-negative safe integer. */
export function checkLimit(what: string, limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`Cannot ${what} as 'limit' must be a non-negative integer: current value is ${limit}`);
  }
}

/** Orders running jobs oldest first, then by id, as `orphans` and `jobsOfClient` list them. */
export function oldestFirst(a: { submittedAt: number; jobId: string }, b: { submittedAt: number; jobId: string }): number {
  return a.submittedAt - b.submittedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}
