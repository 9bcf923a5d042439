/** Secrets the cluster generates once and keeps beside its data: 32 random bytes as hex, in a 0600 file. */

/** Reads the secret in `path`, or creates it (mode 0600, owner only); re-tightens the mode of an existing file. */
export async function readOrCreateSecret(path: string): Promise<string> {
  const fresh = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
  try {
    await Deno.writeTextFile(path, `${fresh}\n`, { mode: 0o600, createNew: true });
    return fresh;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  await Deno.chmod(path, 0o600);
  const secret = (await Deno.readTextFile(path)).trim();
  if (!/^[A-Za-z0-9._~+/=-]{16,256}$/.test(secret)) {
    throw new TypeError(`Cannot use the secret in ${path} as it must be 16..256 URL-safe characters: current length is ${secret.length}`);
  }
  return secret;
}
