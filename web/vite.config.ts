import { defineConfig } from 'vite';

/**
 * The web uploader, built into dist/web, which the server serves at `/` (src/http/web.ts).
 * `npx vite --config web/vite.config.ts` serves it for development, with the API proxied to a
 * Partway on PARTWAY_URL (default http://127.0.0.1:8080).
 */
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);
const server = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.PARTWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  // Relative asset URLs, so that the page also works behind a reverse proxy under a sub-path.
  base: './',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(['/2.0', '/api/2.0', '/downloads'].map((path) => [path, { target: server }])),
  },
});
