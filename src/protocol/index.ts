/** Meshwork wire protocol: types and valibot schemas for every boundary. Imports nothing outside this folder but valibot. */
export * from './version.ts';
export * from './errors.ts';
export * from './validate.ts';
export * from './tensor.ts';
export * from './kernel.ts';
export * from './capabilities.ts';
export * from './coordinator.ts';
export * from './pipeline.ts';
export * from './peer.ts';
export * from './serving.ts';
export * from './worker.ts';
