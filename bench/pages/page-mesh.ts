// The mesh connection of a bench page: `connectMesh` once from the page's `connect()`, `connected()` after it.
import * as sdk from '../../src/sdk/index.ts';

let mesh: sdk.Mesh | undefined;

/** Connects this page to the coordinator serving it; returns the peer id. */
export async function connectMesh(): Promise<string> {
  mesh = await sdk.connect();
  return mesh.peerId;
}

/** The page's mesh; throws when `connectMesh` has not run. */
export function connected(): sdk.Mesh {
  if (!mesh) throw new Error('Cannot use the mesh as this page is not connected: call connect() first');
  return mesh;
}

/** Closes the page's mesh connection, if any; `connected()` throws after it. */
export async function closeMesh(): Promise<void> {
  await mesh?.close();
  mesh = undefined;
}
