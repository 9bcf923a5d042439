/**
 * The market's side of a coordinator cluster (see market-link.ts): instances on one PostgreSQL store and one
 * bus share contributors, move jobs with their clients and take over the jobs of instances that die.
 */
export { MarketLink, type MarketLinkOptions, DEFAULT_OWNERSHIP_TIMING } from './market-link.ts';
export type { OwnershipTiming } from './ownership.ts';
