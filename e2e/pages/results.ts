// Test harness page for the contributor's result store: the ordinary harness (mesh.ts) with the compute pool's
// task methods wrapped to count the kernels it runs (the SDK's own counters say what the contributor reported;
// this says what the workers were asked to do), plus the IndexedDB result store itself and a way to damage its
// records as a disk fault would. Lives only in the test build, never in src/.
import './mesh.ts';
import { openDB } from 'idb';
import { ComputePool } from '../../src/compute/index.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { RESULT_DB_NAME, ResultStore } from '../../src/storage/index.ts';

/** What specs reach through `window.meshResults`. */
export interface ResultsHarness {
  /** Kernel runs the compute pool was asked for (ONNX, WGSL, matmul blocks). */
  kernelRuns: number;
  ResultStore: typeof ResultStore;
  MeshError: typeof MeshError;
  sha256Hex: typeof sha256Hex;
  /** Flips one byte of every stored output's bytes, leaving its metadata (and hash) as it was; returns how many. */
  corruptAll(): Promise<number>;
}

declare global {
  interface Window {
    meshResults: ResultsHarness;
  }
}

const harness: ResultsHarness = {
  kernelRuns: 0,
  ResultStore,
  MeshError,
  sha256Hex,
  async corruptAll() {
    const db = await openDB(RESULT_DB_NAME);
    const tx = db.transaction('bytes', 'readwrite');
    let n = 0;
    for (let cursor = await tx.store.openCursor(); cursor; cursor = await cursor.continue()) {
      const record = cursor.value as { hash: string; bytes: ArrayBuffer };
      new Uint8Array(record.bytes)[0]! ^= 0xff;
      await cursor.update(record);
      n++;
    }
    await tx.done;
    db.close();
    return n;
  },
};

// Every kernel task of any kind goes through the pool's one run (runOnnx/runWgsl/runMatmul wrap it).
const run = ComputePool.prototype.run;
ComputePool.prototype.run = function (this: ComputePool, ...args: Parameters<typeof run>) {
  harness.kernelRuns++;
  return run.apply(this, args);
};
window.meshResults = harness;
