/** Local compute for the SDK: the worker pool, its capability report and duty-cycle throttle. */
export { ComputePool, type ComputePoolOptions, type FaultDetail, ortThreads, type TaskOptions } from './pool.ts';
export { buildCapabilities, type HostInfo, hostInfo } from './probe.ts';
export { checkCap, DutyCycle, MAX_CAP, MIN_CAP } from './throttle.ts';
export { computeWorkerUrl } from './spawn.ts';
