// Writes dist/sw.js after `vite build`: precaches the app shell only (well under 1 MiB), so the PWA starts
// offline without a large first-visit download. The ORT runtime (~39 MiB of WASM) and the models are cached on
// first use (CacheFirst), when a contributor first runs a model, never precached.
// Run: node scripts/sw.mjs [distDir]
import { generateSW } from 'workbox-build';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
if (!existsSync(resolve(dist, 'index.html'))) {
  console.error(`Cannot write the service worker as ${dist}/index.html is missing: run vite build first`);
  process.exit(1);
}


const { count, size, warnings } = await generateSW({
  globDirectory: dist,
  globPatterns: ['index.html', 'sdk.js', 'embed.js', 'manifest.webmanifest', 'assets/**/*.{js,css}', 'icons/*.{png,svg}'],
  // Test harness pages and source maps are not part of the shell.
  globIgnores: ['e2e/**', 'assets/e2e/**', 'bench/**', 'assets/bench/**', '**/*.map', 'sw.js'],
  swDest: resolve(dist, 'sw.js'),
  mode: 'production',
  sourcemap: false,
  inlineWorkboxRuntime: true,
  skipWaiting: true,
  clientsClaim: true,
  cleanupOutdatedCaches: true,
  // The shell's largest file is a few hundred KiB; a bigger one means something large slipped into the precache.
  maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
  // Vite puts an 8-character content hash in every assets/ file name: no cache-busting query needed.
  dontCacheBustURLsMatching: /^assets\/.+-[\w-]{8}\.\w+$/,
  navigateFallback: '/index.html',
  // Coordinator endpoints are never answered from the cache (WebSockets are not seen by service workers anyway).
  navigateFallbackDenylist: [/^\/mesh/, /^\/peerjs/, /^\/api\//, /^\/healthz/, /^\/metrics/, /^\/e2e\//, /^\/models\//, /^\/ort\//],
  runtimeCaching: [
    {
      urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith('/models/') && url.pathname.endsWith('.onnx'),
      handler: 'CacheFirst',
      options: { cacheName: 'meshwork-models', expiration: { maxEntries: 16 }, cacheableResponse: { statuses: [200] } },
    },
    {
      urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname === '/models/index.json',
      handler: 'NetworkFirst',
      options: { cacheName: 'meshwork-catalog', networkTimeoutSeconds: 3 },
    },
    {
      urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith('/ort/'),
      handler: 'CacheFirst',
      options: { cacheName: 'meshwork-ort', expiration: { maxEntries: 16 }, cacheableResponse: { statuses: [200] } },
    },
  ],
});
for (const w of warnings) console.warn('workbox:', w);
console.log(`sw.js: ${count} files precached, ${(size / 2 ** 20).toFixed(1)} MiB`);
