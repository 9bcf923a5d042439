/**
 * Headers every HTTP response carries. COOP/COEP make the PWA cross-origin isolated (ORT needs it for WASM
 * threads); CORP and CORS let other sites embed our script, SDK, ORT files and models, and call the API.
 */

/** Cross-origin isolation and embedding headers, as listed in INTERFACES.md. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Access-Control-Allow-Origin': '*',
  'X-Content-Type-Options': 'nosniff',
};

/** Adds the shared headers to a response (copying it when its headers are immutable). */
export function withSecurityHeaders(res: Response): Response {
  if (res.status === 101) return res; // a WebSocket upgrade: headers are the socket's business
  try {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!res.headers.has(k)) res.headers.set(k, v);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!copy.headers.has(k)) copy.headers.set(k, v);
    return copy;
  }
}

/** A JSON response. */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

/** A JSON error response `{error: {code, message}}`. */
export function jsonError(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

/** Answer to a CORS preflight (the API is read-only and public, so any origin may ask). */
export function preflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': '*',
      'Access-Control-Max-Age': '86400',
    },
  });
}
