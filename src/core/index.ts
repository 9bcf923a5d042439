/** Pure domain logic shared by browser, workers and the coordinator. Imports src/protocol only. */
export * from './encoding.ts';
export * from './hash.ts';
export * from './identity.ts';
export * from './cost.ts';
export * from './latency.ts';
export * from './result-key.ts';
export * from './sharding.ts';
export * from './verify.ts';
export * from './matcher.ts';
export * from './kernels/index.ts';
export * from './wire-errors.ts';
export * from './shard-size.ts';
