/**
 * Capabilities of this browser as the protocol reports them: what the compute worker measured (adapter,
 * limits, features, GFLOP/s, WASM support) plus what only the page knows (cores, device memory).
 * The result is validated against the protocol, so a report the coordinator would refuse fails here.
 */
import { type Capabilities, parseCapabilities } from '../protocol/capabilities.ts';
import type { WorkerProbe } from '../protocol/worker.ts';

/** What the page contributes to the report. */
export interface HostInfo {
  cores: number;
  /** navigator.deviceMemory (GiB, rounded by the browser), where the browser exposes it. */
  memoryGiB?: number;
}

/** Cores and memory from `navigator` (hardwareConcurrency defaults to 1 where hidden). */
export function hostInfo(nav: Navigator = navigator): HostInfo {
  const cores = Math.max(1, Math.min(1024, Math.floor(nav.hardwareConcurrency || 1)));
  const memory = (nav as Navigator & { deviceMemory?: number }).deviceMemory;
  return typeof memory === 'number' && memory > 0 ? { cores, memoryGiB: memory } : { cores };
}

/** Combines a worker probe and host info into protocol Capabilities. */
export function buildCapabilities(probe: WorkerProbe, host: HostInfo): Capabilities {
  const caps: Capabilities = {
    cpu: {
      cores: host.cores,
      wasmSimd: probe.wasmSimd,
      wasmThreads: probe.wasmThreads,
      crossOriginIsolated: probe.crossOriginIsolated,
    },
    ortEps: probe.ortEps,
    gflops: { cpu: probe.cpuGflops, ...(probe.gpu ? { gpu: probe.gpu.gflops } : {}) },
    ...(host.memoryGiB === undefined ? {} : { memoryGiB: host.memoryGiB }),
    ...(probe.gpu
      ? {
        gpu: {
          vendor: probe.gpu.vendor,
          architecture: probe.gpu.architecture,
          description: probe.gpu.description,
          features: probe.gpu.features,
          limits: probe.gpu.limits,
        },
      }
      : {}),
  };
  return parseCapabilities(caps, 'capabilities');
}
