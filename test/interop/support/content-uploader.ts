import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Box UI Elements' prebuilt bundle, from the devDependency (global `Box.ContentUploader`). */
const DIST = join(dirname(createRequire(import.meta.url).resolve('box-ui-elements/package.json')), 'dist');
const PAGE_PREFIX = '/uie/';

/**
 * Serves the ContentUploader test page and its bundle under `/uie/`; anything else is left to the
 * caller. The page shows the uploader for `?folder=&token=&api=` and records its events in
 * `window.uploaderEvents`, as an application embedding it would listen to them.
 */
export function serveUploaderPage(request: IncomingMessage, response: ServerResponse): boolean {
  const url = new URL(request.url ?? '/', 'https://page.invalid');
  if (!url.pathname.startsWith(PAGE_PREFIX)) return false;
  const file = url.pathname.slice(PAGE_PREFIX.length);
  if (file === 'uploader.js' || file === 'uploader.css') {
    response.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/css' });
    createReadStream(join(DIST, file)).pipe(response);
  } else if (file === 'index.html') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  } else {
    response.writeHead(404).end();
  }
  return true;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ContentUploader</title>
<link rel="stylesheet" href="/uie/uploader.css"></head>
<body><div id="uploader" style="height: 600px"></div>
<script src="/uie/uploader.js"></script>
<script>
  const query = new URLSearchParams(location.search);
  const api = query.get('api');
  window.uploaderEvents = [];
  const uploader = new Box.ContentUploader();
  for (const name of ['complete', 'error', 'upload']) {
    uploader.addListener(name, (data) => window.uploaderEvents.push({ name, data: JSON.parse(JSON.stringify(data ?? null)) }));
  }
  uploader.show(query.get('folder'), query.get('token'), { container: '#uploader', apiHost: api, uploadHost: api });
</script></body></html>`;
