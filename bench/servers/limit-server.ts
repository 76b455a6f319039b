/**
 * The limit's server: only the unavoidable work of a verified, durable upload, on node:http.
 *
 *   POST /create?size=N                 starts an upload
 *   PUT  /part?offset=O  (x-sha1: hex)   streams the body to disk, SHA-1s it, fsyncs, checks the
 *                                        part's SHA-1, answers 200
 *   POST /commit         (x-sha1: hex)   checks the whole-file SHA-1, answers 200
 *
 * Each byte is hashed twice here (its part's SHA-1, and the whole file's, computed as the contiguous
 * prefix of verified parts grows, from the part's chunks kept in memory until then) and written
 * once; a part is durable (file and directory entry fsynced) before its 200. Nothing is read back.
 *
 * Usage: --dir DIR --port N --part-size BYTES [--layout parts|file]
 *   parts (default): one file per part, like Partway's disk store: each part's fsync is its own.
 *   file: one file, each part written at its offset (fsyncs of parts in flight then contend).
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { args, required } from '../clients/common.js';

const options = args();
const directory = required(options, 'dir');
const port = Number(required(options, 'port'));
const partSize = Number(required(options, 'part-size'));
const layout = options.layout ?? 'parts';
const BATCH = 1024 * 1024;

interface Upload {
  id: number;
  /** The single file (layout `file`). */
  file: FileHandle | undefined;
  size: number;
  whole: Hash;
  /** Index of the next part the whole-file hash needs. */
  nextPart: number;
  /** Verified parts not yet in the whole-file hash, by index. */
  waiting: Map<number, Buffer[]>;
}

let upload: Upload | undefined;
let uploads = 0;

async function create(url: URL, response: ServerResponse): Promise<void> {
  const size = Number(url.searchParams.get('size'));
  const id = ++uploads;
  const file = layout === 'file' ? await open(join(directory, `upload-${id}.bin`), 'w') : undefined;
  if (file) await syncDirectory(directory);
  upload = { id, file, size, whole: createHash('sha1'), nextPart: 0, waiting: new Map() };
  response.writeHead(201).end();
}

async function part(request: IncomingMessage, url: URL, response: ServerResponse): Promise<void> {
  const current = upload!;
  const offset = Number(url.searchParams.get('offset'));
  const index = offset / partSize;
  const file = current.file ?? await open(join(directory, `upload-${current.id}.${index}.part`), 'w');
  const base = current.file ? offset : 0;
  const hash = createHash('sha1');
  const chunks: Buffer[] = [];
  // Writes go out in batches of about 1 MiB (writev at their position), without waiting for one
  // another; all are done before the fsync.
  const writes: Array<Promise<unknown>> = [];
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let position = 0;
  const flush = () => {
    if (batchBytes === 0) return;
    writes.push(writeFully(file, batch, batchBytes, base + position));
    position += batchBytes;
    batch = [];
    batchBytes = 0;
  };
  for await (const chunk of request as AsyncIterable<Buffer>) {
    hash.update(chunk);
    chunks.push(chunk);
    batch.push(chunk);
    batchBytes += chunk.length;
    if (batchBytes >= BATCH) flush();
  }
  flush();
  await Promise.all(writes);
  await file.sync();
  if (!current.file) {
    await file.close();
    await syncDirectory(directory); // the new file's name is durable too, as in Partway's disk store
  }
  if (hash.digest('hex') !== request.headers['x-sha1']) {
    response.writeHead(400).end('part digest mismatch');
    return;
  }
  current.waiting.set(index, chunks);
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ offset, size: position }));
  // After answering: extend the whole-file hash over the parts that now continue its prefix.
  setImmediate(() => extendPrefix(current));
}

function extendPrefix(current: Upload): void {
  for (let next = current.waiting.get(current.nextPart); next; next = current.waiting.get(current.nextPart)) {
    for (const chunk of next) current.whole.update(chunk);
    current.waiting.delete(current.nextPart++);
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** writev until every byte of `buffers` is at `position`. */
async function writeFully(file: FileHandle, buffers: Buffer[], length: number, position: number): Promise<void> {
  let { bytesWritten } = await file.writev(buffers, position);
  if (bytesWritten === length) return;
  const rest = Buffer.concat(buffers, length);
  while (bytesWritten < length) {
    bytesWritten += (await file.write(rest, bytesWritten, length - bytesWritten, position + bytesWritten)).bytesWritten;
  }
}

async function commit(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const current = upload!;
  const parts = Math.ceil(current.size / partSize);
  extendPrefix(current);
  if (current.nextPart !== parts) {
    response.writeHead(400).end(`only ${current.nextPart} of ${parts} parts in order`);
    return;
  }
  const sha1 = current.whole.digest('hex');
  await current.file?.close();
  upload = undefined;
  if (sha1 !== request.headers['x-sha1']) {
    response.writeHead(400).end('file digest mismatch');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sha1, parts }));
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const route = `${request.method} ${url.pathname}`;
  const handled = route === 'POST /create' ? create(url, response)
    : route === 'PUT /part' ? part(request, url, response)
      : route === 'POST /commit' ? commit(request, response)
        : Promise.resolve(void response.writeHead(404).end());
  handled.catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    if (!response.headersSent) response.writeHead(500);
    response.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
