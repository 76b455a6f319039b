/**
 * Shared pieces of the interop suites: random source files on disk (so a 100 MiB source is never
 * held in memory twice), streaming SHA-1, and a passive log of the HTTP requests the real server
 * received (read from the server's own `request` events; it never touches bodies or responses).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export const MiB = 1024 * 1024;
/** Box's default part size, which Partway uses unless configured otherwise. */
export const PART_SIZE = 8 * MiB;

export interface SourceFile {
  path: string;
  size: number;
  /** Lower-case hex SHA-1, as Box reports it. */
  sha1: string;
  /** Base64 SHA-1, as the Digest headers carry it. */
  sha1Base64: string;
}

export interface Scratch {
  dir: string;
  /** Writes `size` random bytes to a new file and returns its digests. */
  randomFile(name: string, size: number): Promise<SourceFile>;
  remove(): Promise<void>;
}

export async function scratchDir(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'partway-interop-'));
  return {
    dir,
    async randomFile(name, size) {
      const path = join(dir, name);
      const hash = createHash('sha1');
      const handle = await open(path, 'w');
      try {
        for (let written = 0; written < size;) {
          const block = randomBytes(Math.min(4 * MiB, size - written));
          hash.update(block);
          await handle.write(block);
          written += block.length;
        }
      } finally {
        await handle.close();
      }
      const digest = hash.digest();
      return { path, size, sha1: digest.toString('hex'), sha1Base64: digest.toString('base64') };
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh stream of the file's bytes (1 MiB reads, as an application would stream a big file). */
export function streamOf(file: SourceFile): Readable {
  return createReadStream(file.path, { highWaterMark: MiB });
}

/** Consumes a stream and returns the SHA-1 (hex) and length of everything it produced. */
export async function digestStream(stream: AsyncIterable<Uint8Array | string>): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(bytes);
    size += bytes.length;
  }
  return { sha1: hash.digest('hex'), size };
}

export function sha1Hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

export function sha1Base64(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('base64');
}

/** `[offset, size]` of every part of a file of `fileSize` bytes cut into `partSize` parts. */
export function partLayout(fileSize: number, partSize = PART_SIZE): Array<{ offset: number; size: number }> {
  const parts: Array<{ offset: number; size: number }> = [];
  for (let offset = 0; offset < fileSize; offset += partSize) parts.push({ offset, size: Math.min(partSize, fileSize - offset) });
  return parts;
}

export function contentRange(offset: number, size: number, fileSize: number): string {
  return `bytes ${offset}-${offset + size - 1}/${fileSize}`;
}

export interface LoggedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The status the server answered with; undefined until its headers are sent. */
  readonly status: number | undefined;
  startedAt: number;
  endedAt: number | undefined;
}

/** Records every request `server` receives, in arrival order. */
export class RequestLog {
  readonly entries: LoggedRequest[] = [];
  private readonly listener = (request: IncomingMessage, response: ServerResponse) => {
    const entry: LoggedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      get status() {
        return response.headersSent ? response.statusCode : undefined;
      },
      startedAt: performance.now(),
      endedAt: undefined,
    };
    response.once('close', () => {
      entry.endedAt = performance.now();
    });
    this.entries.push(entry);
  };

  constructor(private readonly server: Server) {
    server.on('request', this.listener);
  }

  /** A position in the log; pass it to `since` to get what arrived afterwards. */
  mark(): number {
    return this.entries.length;
  }

  since(mark: number): LoggedRequest[] {
    return this.entries.slice(mark);
  }

  detach(): void {
    this.server.off('request', this.listener);
  }
}

/** The largest number of the given requests that were being handled at the same moment. */
export function maxOverlap(requests: readonly LoggedRequest[]): number {
  const events: Array<[number, number]> = [];
  for (const request of requests) {
    events.push([request.startedAt, 1], [request.endedAt ?? Number.POSITIVE_INFINITY, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let max = 0;
  for (const [, delta] of events) {
    current += delta;
    max = Math.max(max, current);
  }
  return max;
}

/** `METHOD path -> status` lines without query strings, ids (whole path segments) replaced by placeholders. */
export function shape(requests: readonly LoggedRequest[], ids: Record<string, string> = {}): string[] {
  return requests.map((request) => {
    const placeholders = new Map(Object.entries(ids).map(([placeholder, id]) => [id, placeholder]));
    let path = request.url.split('?')[0]!.split('/').map((segment) => placeholders.get(segment) ?? segment).join('/');
    path = path.replace(/^\/downloads\/[^/]+$/, '/downloads/{link}');
    return `${request.method} ${path} -> ${request.status}`;
  });
}
