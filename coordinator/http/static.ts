/**
 * Serves the built PWA from a folder: content types the browser insists on (ES modules, WASM streaming
 * compilation, manifests), validators for cheap revalidation, SPA fallback to index.html for app routes,
 * and no way out of the folder (`..`, encoded or not, NUL, backslashes and symlinks that escape are refused).
 */
import { jsonError } from './headers.ts';

/** Content types by file extension. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
};

/** Content type of a path by its extension (octet-stream when unknown). */
export function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  if (dot <= slash) return 'application/octet-stream';
  return CONTENT_TYPES[path.slice(dot).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Safe relative path segments of a URL path, or null when it tries to leave the root or is malformed.
 * Dot-files are refused too (nothing in dist/ should be hidden), except `.well-known`.
 */
export function safeSegments(pathname: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  for (const s of segments) {
    if (s === '..' || (s.startsWith('.') && s !== '.well-known')) return null;
  }
  return segments;
}

/** A handler serving files under `root`; never throws for a missing root (answers 404). */
export function createStaticHandler(root: string): (req: Request, url: URL) => Promise<Response> {
  let realRoot: string | undefined;
  return async (req, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return jsonError(405, 'invalid-message', `Cannot ${req.method} a static file`);
    const segments = safeSegments(url.pathname);
    if (!segments) return jsonError(400, 'invalid-message', `Cannot serve '${url.pathname}' as it leaves the static root`);
    realRoot ??= await realPath(root);
    if (!realRoot) return jsonError(404, 'not-found', `Cannot serve '${url.pathname}' as the static folder ${root} does not exist`);
    const found = await findFile(realRoot, segments);
    if (found) return fileResponse(req, found.path, found.info);
    const last = segments.at(-1) ?? '';
    const wantsHtml = !last.includes('.') || (req.headers.get('accept') ?? '').includes('text/html');
    if (wantsHtml) {
      const index = await findFile(realRoot, ['index.html']);
      if (index) return fileResponse(req, index.path, index.info);
    }
    return jsonError(404, 'not-found', `Cannot serve '${url.pathname}' as no such file exists`);
  };
}

async function realPath(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch {
    return undefined;
  }
}

async function findFile(root: string, segments: string[]): Promise<{ path: string; info: Deno.FileInfo } | null> {
  let path = [root, ...segments].join('/');
  let info = await stat(path);
  if (info?.isDirectory) {
    path += '/index.html';
    info = await stat(path);
  }
  if (!info?.isFile) return null;
  // A symlink inside dist/ must not lead outside it.
  const real = await realPath(path);
  if (!real || (real !== root && !real.startsWith(root + '/'))) return null;
  return { path: real, info };
}

async function stat(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

async function fileResponse(req: Request, path: string, info: Deno.FileInfo): Promise<Response> {
  const etag = `W/"${info.size.toString(16)}-${(info.mtime?.getTime() ?? 0).toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': contentType(path),
    etag,
    'cache-control': cacheControl(path),
  };
  if (req.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers });
  headers['content-length'] = String(info.size);
  if (req.method === 'HEAD') return new Response(null, { status: 200, headers });
  const file = await Deno.open(path, { read: true });
  return new Response(file.readable, { status: 200, headers });
}

/** Hashed build outputs never change; the shell and service worker must always revalidate. */
function cacheControl(path: string): string {
  if (path.includes('/assets/')) return 'public, max-age=31536000, immutable';
  return 'no-cache';
}
