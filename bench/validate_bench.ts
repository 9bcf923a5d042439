// Parse time of the hot wire frames, in one Deno process: ns per parse of each frame kind through its public
// parser (`parseSignalFrame` on the JSON text; `parsePeerFrame` / `parseClientFrame` on the already-parsed
// object, as session.ts and peer-link.ts call them after `parseJson`). Each kind: a warm-up, then ROUNDS timed
// rounds of enough iterations to last about `roundMs` (first argument, default 60); the figure is the median
// round (MESHWORK_BENCH_VALIDATE_ROUND_MS sets the default). Uses only the parsers' public names, so the same
// file runs against older commits.
import { parseSignalFrame } from '../coordinator/signalling/frames.ts';
import { parseClientFrame } from '../src/protocol/coordinator.ts';
import { parsePeerFrame } from '../src/protocol/peer.ts';

const roundMs = Number(Deno.args[0] ?? Deno.env.get('MESHWORK_BENCH_VALIDATE_ROUND_MS') ?? 60);
const ROUNDS = 7;

const hash = (seed: number) => (seed.toString(16).padStart(8, '0')).repeat(8);
const signature = 'Zm9v'.repeat(21) + 'YQ'; // 86 characters: an Ed25519 signature in base64url
const peerId = 'mw' + hash(7).slice(0, 40);

/** A Chrome-like data-channel offer: ~3 KB of SDP with host, srflx and relay candidates. */
function sdpOffer(): string {
  const lines = [
    'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'a=extmap-allow-mixed', 'a=msid-semantic: WMS', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0', 'a=ice-ufrag:7sFv', 'a=ice-pwd:Hm0XBf2pYvCqOq8r4Tz6w1Ld', 'a=ice-options:trickle',
    'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, (_, i) => ((i * 37) & 255).toString(16).padStart(2, '0').toUpperCase()).join(':'),
    'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000', 'a=max-message-size:262144',
  ];
  for (let i = 0; i < 19; i++) {
    const kind = i < 6 ? 'host' : i < 10 ? 'srflx raddr 192.168.1.23 rport 51234' : 'relay raddr 203.0.113.7 rport 3478';
    lines.push(`a=candidate:${1_000_000_000 + i * 7919} 1 udp ${2_122_260_223 - i * 4096} 192.168.${i}.${20 + i} ${50_000 + i} typ ${kind} generation 0 network-id ${i % 3 + 1} network-cost 10`);
  }
  return lines.join('\r\n') + '\r\n';
}

const offerText = JSON.stringify({
  type: 'OFFER',
  dst: 'peer-b-0123456789',
  payload: {
    sdp: { type: 'offer', sdp: sdpOffer() },
    type: 'data',
    connectionId: 'dc_ku1i8kvsq7',
    browser: 'chrome',
    label: 'dc_ku1i8kvsq7',
    reliable: true,
    serialization: 'raw',
    metadata: { lease: 'l-000123' },
  },
});

const tensor = (name: string, dims: number[]) => ({ name, dtype: 'float32', dims });
const limits = {
  maxStorageBufferBindingSize: 2147483644, maxBufferSize: 2147483648, maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupSizeZ: 64, maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 10,
};
const features = ['depth-clip-control', 'depth32float-stencil8', 'texture-compression-bc', 'texture-compression-etc2',
  'timestamp-query', 'indirect-first-instance', 'shader-f16', 'rg11b10ufloat-renderable', 'bgra8unorm-storage',
  'float32-filterable', 'float32-blendable', 'clip-distances', 'dual-source-blending', 'subgroups'];

/** Inputs per frame kind: [parser, input]. */
const FRAMES: Record<string, [(value: never) => unknown, unknown]> = {
  offer: [parseSignalFrame, offerText],
  shard: [parsePeerFrame, { type: 'shard', v: 1, leaseId: 'lease-8f3a2c91' }],
  blob: [parsePeerFrame, { type: 'blob', leaseId: 'lease-8f3a2c91', tid: 17, what: 'inputs', bytes: 4_900_000, sha256: hash(1), encoding: 'deflate-raw', wireBytes: 89_000 }],
  done: [parsePeerFrame, {
    type: 'done', leaseId: 'lease-8f3a2c91', outputHash: hash(2),
    outputs: [tensor('logits', [1, 1000]), tensor('boxes', [1, 100, 4]), tensor('scores', [1, 100]), tensor('features', [1, 256, 7, 7])],
  }],
  result: [parseClientFrame, { type: 'result', rid: 4211, claim: { jobId: 'job-5e1c', shard: 731, leaseId: 'lease-8f3a2c91', outputHash: hash(3) }, signature }],
  receipt: [parseClientFrame, {
    type: 'receipt', rid: 4212, signature,
    receipt: { jobId: 'job-5e1c', shard: 731, leaseId: 'lease-8f3a2c91', contributor: peerId, outputHash: hash(3), workUnits: 2_097_152 },
  }],
  register: [parseClientFrame, {
    type: 'register', rid: 1, askPrice: 3, maxConcurrent: 4,
    caps: {
      gpu: { vendor: 'nvidia', architecture: 'ada-lovelace', description: 'NVIDIA GeForce RTX 4070', features, limits },
      cpu: { cores: 16, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true },
      memoryGiB: 8,
      ortEps: ['wasm', 'webgpu'],
      gflops: { cpu: 41.7, gpu: 9870.5 },
    },
  }],
  submit1000: [parseClientFrame, {
    type: 'submit', rid: 2, signature,
    job: {
      kernel: { kind: 'matmul' },
      shards: Array.from({ length: 1000 }, (_, index) => ({
        index, inputs: [tensor('a', [64, 512]), tensor('b', [512, 64])], outputs: [tensor('c', [64, 64])], inputHash: hash(index), workUnits: 2_097_152,
      })),
      bid: 5, verifyFraction: 0.1, tolerance: { abs: 1e-4, rel: 1e-3 }, deadlineMs: 600_000, nonce: 'n-1733212800000',
    },
  }],
  // Reference, not a parser: JSON.parse alone of the OFFER text.
  offerJsonParse: [JSON.parse as (value: never) => unknown, offerText],
};

let sink = 0;

function timeLoop(parse: (value: never) => unknown, input: unknown, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (parse(input as never) !== null) sink++;
  return performance.now() - t0;
}

function nsPerParse(parse: (value: never) => unknown, input: unknown): number {
  parse(input as never); // throws here, not in a timed loop, if the input is invalid
  let n = 1;
  while (timeLoop(parse, input, n) < 20) n *= 2; // warm-up and calibration
  const perRound = Math.max(1, Math.round((n * roundMs) / Math.max(timeLoop(parse, input, n), 1e-3)));
  const rounds = Array.from({ length: ROUNDS }, () => (timeLoop(parse, input, perRound) * 1e6) / perRound);
  rounds.sort((a, b) => a - b);
  return rounds[ROUNDS >> 1]!;
}

const ns: Record<string, number> = {};
for (const [name, [parse, input]] of Object.entries(FRAMES)) ns[name] = Math.round(nsPerParse(parse, input));
console.error(`(${sink} parses; offer text ${offerText.length} characters)`);
console.log(JSON.stringify({ nsPerParse: ns, offerChars: offerText.length, deno: Deno.version.deno, date: new Date().toISOString() }));
