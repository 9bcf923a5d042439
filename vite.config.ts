/**
 * One build for everything the coordinator serves from dist/:
 * - index.html: the PWA;
 * - /sdk.js and /embed.js: stable-named ES modules (the public SDK and the script-tag entry), exports kept;
 * - e2e/pages/*.html and bench/pages/*.html: test and benchmark harness pages, only when MESHWORK_TEST_PAGES=1
 *   (`npm run build:test`), so the PWA that `npm start` serves carries none of them;
 * - /ort/ and /models/: runtime files copied by scripts/vite-mesh-assets.ts.
 * scripts/sw.mjs then writes the service worker (see package.json "build").
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { meshAssets, ortRuntimeUrls } from './scripts/vite-mesh-assets.ts';
import { tc39Decorators } from './scripts/vite-tc39-decorators.ts';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Cross-origin isolation, so onnxruntime-web may use WASM threads (SharedArrayBuffer). */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

/** `npm run dev`: the coordinator's endpoints are proxied to a running coordinator (default 127.0.0.1:8787). */
const coordinator = process.env['MESHWORK_COORDINATOR'] ?? 'http://127.0.0.1:8787';
const proxy = {
  '/api': coordinator,
  '/healthz': coordinator,
  '/mesh': { target: coordinator, ws: true },
  '/peerjs': { target: coordinator, ws: true },
};

/** Entries with stable public names; everything else is hashed under assets/. */
const STABLE = new Set(['sdk', 'embed']);

function inputs(): Record<string, string> {
  const entries: Record<string, string> = {
    index: resolve(root, 'index.html'),
    sdk: resolve(root, 'src/sdk/index.ts'),
    embed: resolve(root, 'src/sdk/embed.ts'),
  };
  for (const dir of process.env.MESHWORK_TEST_PAGES === '1' ? ['e2e', 'bench'] : []) {
    const pages = resolve(root, dir, 'pages');
    if (existsSync(pages)) {
      for (const f of readdirSync(pages)) if (f.endsWith('.html')) entries[`${dir}/${f.slice(0, -5)}`] = resolve(pages, f);
    }
  }
  return entries;
}

export default defineConfig({
  root,
  plugins: [tc39Decorators(), ortRuntimeUrls(), meshAssets()],
  server: { host: '127.0.0.1', headers: isolation, proxy },
  preview: { host: '127.0.0.1', headers: isolation },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es', plugins: () => [ortRuntimeUrls()] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // The ORT runtime is large by nature; warn only for unexpectedly large app chunks.
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      input: inputs(),
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk) => (STABLE.has(chunk.name) ? '[name].js' : 'assets/[name]-[hash].js'),
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  experimental: {
    // Assets referenced from JS (worker scripts, wasm, chunks) resolve against the module's own URL, so
    // /embed.js and /sdk.js keep working when imported by a page on another origin.
    renderBuiltUrl: (_file, { hostType }) => (hostType === 'js' ? { relative: true } : undefined),
  },
});
