// Test harness page: the SDK as a web page would use it, plus onnxruntime-web called directly in the page
// (the reference the mesh's results are compared with) and deterministic text images as model inputs.
import * as sdk from '../../src/sdk/index.ts';
import { ICE_DEAD_MS } from '../../src/mesh/ice-watch.ts';
import * as ort from 'onnxruntime-web';
import { renderTextImages } from './text-images.ts';
import { renderOcrPages } from './ocr-lines.ts';
import { characterAccuracy } from '../../src/core/ocr/accuracy.ts';
import { elementwiseReference, layerNormReference, matmulReference, randomFloats, reduceReference, softmaxReference } from '../../shaders/testing/reference.ts';
import { deepMlp } from '../../src/model/testing/deep-mlp.ts';

ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;

/** What specs reach through `window.meshTest`. */
export interface MeshTestHarness {
  sdk: typeof sdk;
  /** ICE evidence of this page's live peer connections (getStats), for the relay spec. */
  iceReport: typeof iceReport;
  /** How long a link may stay disconnected or failed before the SDK closes it (ms). */
  iceDeadMs: number;
  ort: typeof ort;
  renderTextImages: typeof renderTextImages;
  /** Seeded pages of text lines for the OCR spec, and the accuracy measure it applies. */
  renderOcrPages: typeof renderOcrPages;
  characterAccuracy: typeof characterAccuracy;
  randomFloats: typeof randomFloats;
  matmulMaxRel: typeof matmulMaxRel;
  matmulMismatches: typeof matmulMismatches;
  rowsMaxRel: typeof rowsMaxRel;
  /** A deep MLP ONNX model of as many weight bytes as asked, built in the page (big-model spec). */
  deepMlp: typeof deepMlp;
}

declare global {
  interface Window {
    meshTest: MeshTestHarness;
  }
}

// Every RTCPeerConnection peerjs makes goes through the global constructor: record them (and their ICE restarts)
// so specs can read getStats() of a link without the SDK exposing its connections.
const connections: RecordedConnection[] = [];
class RecordedConnection extends RTCPeerConnection {
  restarts = 0;
  /** ICE and signalling state changes, `+<ms since creation> <kind>:<state>`. */
  readonly history: string[] = [];
  readonly #born = performance.now();
  constructor(config?: RTCConfiguration) {
    super(config);
    connections.push(this);
    const note = (what: string) => this.#note(what);
    this.addEventListener('iceconnectionstatechange', () => note(`ice:${this.iceConnectionState}`));
    this.addEventListener('signalingstatechange', () => note(`sig:${this.signalingState}`));
    this.addEventListener('connectionstatechange', () => note(`conn:${this.connectionState}`));
  }
  #note(what: string): void {
    this.history.push(`+${Math.round(performance.now() - this.#born)} ${what}`);
  }
  override close(): void {
    this.#note('close()');
    super.close();
  }
  override restartIce(): void {
    this.restarts++;
    super.restartIce();
  }
}
window.RTCPeerConnection = RecordedConnection;

/** One side of a candidate pair, as getStats reports it. */
export interface CandidateReport {
  candidateType: string;
  protocol: string;
  address: string;
  port: number;
  relayProtocol?: string;
}

/** A live peer connection's ICE state, policy, servers, restarts and selected candidate pair. */
export interface IceReport {
  iceState: RTCIceConnectionState;
  policy: RTCIceTransportPolicy | undefined;
  servers: string[];
  /** TURN usernames the connection was given (`<expiry>:<peerId>`): which welcome's credentials it uses. */
  turnUsers: string[];
  restarts: number;
  history: string[];
  local?: CandidateReport;
  remote?: CandidateReport;
  bytesSent?: number;
  bytesReceived?: number;
}

/** ICE reports of this page's live peer connections (all it ever made with `all`). */
async function iceReport(all = false): Promise<IceReport[]> {
  const live = connections.filter((pc) => all || (pc.connectionState !== 'closed' && pc.remoteDescription !== null));
  return Promise.all(live.map(async (pc) => {
    const stats = await pc.getStats();
    const all = [...stats.values()] as Record<string, unknown>[];
    const transport = all.find((s) => s.type === 'transport' && typeof s.selectedCandidatePairId === 'string');
    const pair = (transport ? stats.get(transport.selectedCandidatePairId as string) : all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')) as Record<string, unknown> | undefined;
    const side = (id: unknown): CandidateReport | undefined => {
      const c = typeof id === 'string' ? (stats.get(id) as Record<string, unknown> | undefined) : undefined;
      if (!c) return undefined;
      const report: CandidateReport = { candidateType: String(c.candidateType), protocol: String(c.protocol), address: String(c.address), port: Number(c.port) };
      if (typeof c.relayProtocol === 'string') report.relayProtocol = c.relayProtocol;
      return report;
    };
    const config = pc.getConfiguration();
    const report: IceReport = {
      iceState: pc.iceConnectionState,
      policy: config.iceTransportPolicy,
      servers: (config.iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])),
      turnUsers: (config.iceServers ?? []).flatMap((s) => (s.username ? [s.username] : [])),
      restarts: pc.restarts,
      history: pc.history,
    };
    const local = side(pair?.localCandidateId);
    const remote = side(pair?.remoteCandidateId);
    if (local) report.local = local;
    if (remote) report.remote = remote;
    if (typeof pair?.bytesSent === 'number') report.bytesSent = pair.bytesSent;
    if (typeof pair?.bytesReceived === 'number') report.bytesReceived = pair.bytesReceived;
    return report;
  }));
}

/** Largest error of c = a x b against an f64 reference, relative to sum_k |a_ik b_kj| per element. */
function matmulMaxRel(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): number {
  const ref = matmulReference(a, b, m, k, n);
  let worst = 0;
  for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(c[i]! - ref.c[i]!) / Math.max(ref.scale[i]!, 1e-6));
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Elements of c that differ from the exact a x b (for integer inputs whose products and sums are exact in f32). */
function matmulMismatches(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): number {
  let mismatches = 0;
  for (let r = 0; r < m; r++) {
    for (let col = 0; col < n; col++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += a[r * k + i]! * b[i * n + col]!;
      if (c[r * n + col] !== s) mismatches++;
    }
  }
  return mismatches;
}

/** The operands of a row-kernel job, as `runRows` takes them (all f32; `shift` is affine's beta). */
export interface RowsOperands {
  x: Float32Array;
  b?: Float32Array;
  gamma?: Float32Array;
  beta?: Float32Array;
  eps?: number;
  alpha?: number;
  shift?: number;
}

/**
 * Largest error of a row kernel's y against the f64 reference (shaders/testing/reference.ts), relative per element to
 * the scale its f32 rounding works at (the reference's own scale for sum, max and layer norm; 1 for softmax, whose
 * values lie in [0, 1]; the operands' magnitudes for the element-wise ops). NaN or a wrong length counts as Infinity.
 */
function rowsMaxRel(op: sdk.RunRowsOptions['op'], rows: number, cols: number, o: RowsOperands, y: Float32Array): number {
  const { x } = o;
  let ref: ArrayLike<number>;
  let scale: ArrayLike<number> | undefined;
  if (op === 'sum' || op === 'max') ({ y: ref, scale } = reduceReference(op, x, rows, cols));
  else if (op === 'softmax') ref = softmaxReference(x, rows, cols);
  else if (op === 'layernorm') ({ y: ref, scale } = layerNormReference(x, o.gamma!, o.beta!, rows, cols, o.eps ?? 1e-5));
  else {
    const b = o.b ?? x;
    ref = elementwiseReference(op, x, b, o.alpha ?? 1, o.shift ?? 0);
    scale = x.map((v, i) => (op === 'add' ? Math.abs(v) + Math.abs(b[i]!) : op === 'mul' ? Math.abs(v * b[i]!) : op === 'affine' ? Math.abs(v * (o.alpha ?? 1)) + Math.abs(o.shift ?? 0) : Math.abs(v)));
  }
  if (y.length !== ref.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref[i]!) / Math.max(scale?.[i] ?? 1, 1e-6));
  return Number.isNaN(worst) ? Infinity : worst;
}

window.meshTest = { sdk, iceReport, iceDeadMs: ICE_DEAD_MS, ort, renderTextImages, renderOcrPages, characterAccuracy, randomFloats, matmulMaxRel, matmulMismatches, rowsMaxRel, deepMlp };
document.body.dataset.ready = 'true';
