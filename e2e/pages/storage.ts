// Test harness page for src/storage in a real browser (IndexedDB): the ordinary harness (mesh.ts) plus the
// identity store and model cache, and a log of every peer control frame this page sends. The SDK has no
// counter of model transfers, so the log is how a spec sees whether a model crossed a link: a client sends
// a `blob` frame with `what: 'model'` before the model's bytes, and a contributor answers `need`.
import './mesh.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { PeerLink } from '../../src/mesh/peer-link.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { PeerFrame } from '../../src/protocol/peer.ts';
import { DB_NAME, loadIdentity, ModelCache } from '../../src/storage/index.ts';

/** One control frame this page sent, reduced to what specs check. */
export interface SentFrame {
  type: string;
  leaseId?: string;
  /** `blob`: which blob ('model', 'inputs', 'outputs') and its size. */
  what?: string;
  bytes?: number;
  /** `need`: whether the contributor asked for the model. */
  model?: boolean;
}

/** What specs reach through `window.meshStorage`. */
export interface StorageHarness {
  loadIdentity: typeof loadIdentity;
  ModelCache: typeof ModelCache;
  MeshError: typeof MeshError;
  sha256Hex: typeof sha256Hex;
  dbName: string;
  /** Control frames sent on any peer link of this page, oldest first. */
  sent: SentFrame[];
}

declare global {
  interface Window {
    meshStorage: StorageHarness;
  }
}

const sent: SentFrame[] = [];
const sendControl = PeerLink.prototype.sendControl;
PeerLink.prototype.sendControl = function (this: PeerLink, frame: PeerFrame) {
  const f = frame as Partial<Record<'type' | 'leaseId' | 'what' | 'bytes' | 'model', unknown>>;
  sent.push({
    type: String(f.type),
    ...(typeof f.leaseId === 'string' ? { leaseId: f.leaseId } : {}),
    ...(typeof f.what === 'string' ? { what: f.what } : {}),
    ...(typeof f.bytes === 'number' ? { bytes: f.bytes } : {}),
    ...(typeof f.model === 'boolean' ? { model: f.model } : {}),
  });
  sendControl.call(this, frame);
};

window.meshStorage = { loadIdentity, ModelCache, MeshError, sha256Hex, dbName: DB_NAME, sent };
