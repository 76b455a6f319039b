import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The web uploader at `/`: static files built from `web/` into `dist/web` (`npm run build`). The
 * page uses only the public API, as a browser app on another origin could.
 *
 * Each built file gets its own route (`wildcard: false`), so the API, `/downloads`, `/healthz`,
 * `/readyz` and `/metrics` are untouched and unknown paths still get Box's JSON 404. Without a built
 * front end nothing is registered and `/` answers 404 like any unknown route.
 */
export function serveWebUploader(app: FastifyInstance, root: string | undefined = builtWebDirectory()): void {
  if (root === undefined || !existsSync(join(root, 'index.html'))) return;
  app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // Caching is decided per file below.
    cacheControl: false,
    setHeaders(reply, path) {
      if (path.endsWith('.html')) {
        reply.header('cache-control', 'no-cache');
        reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
        reply.header('x-frame-options', 'DENY');
      } else if (/[\\/]assets[\\/]/.test(path)) {
        // Vite puts a content hash in every asset's name.
        reply.header('cache-control', 'public, max-age=31536000, immutable');
      } else {
        reply.header('cache-control', 'public, max-age=3600');
      }
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
  });
}

/**
 * Scripts only from this origin (plus compiling hash-wasm's WebAssembly), API calls only to this
 * origin, no framing. Downloads are navigations to this origin's signed `/downloads/` links.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `dist/web` seen from this module: `../web/` once compiled (dist/http/web.js); when the sources run
 * directly (tests, tsx), `../../dist/web/` from src/http/web.ts.
 */
function builtWebDirectory(): string | undefined {
  for (const relative of ['../web/', '../../dist/web/']) {
    const directory = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(directory, 'index.html'))) return directory;
  }
  return undefined;
}
