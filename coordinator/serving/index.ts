/** Continuous serving in the coordinator: services, their replicas' leases, escrow and receipts, disputes. */
export { ServingBook, type ServingDeps } from './serving.ts';
export type { Service } from './service.ts';
