/**
 * Uploads one file with tus-js-client (Node) to a tus server: creation, then one PATCH per 8 MiB
 * chunk, one after the other (parallel uploads need the concatenation extension, which
 * @tus/file-store does not have). With `--checksum 1` every PATCH carries
 * `Upload-Checksum: sha1 <base64 of the chunk>` (tus-js-client computes no checksums itself; it is
 * added by wrapping its HTTP stack). Chunks are read from the file into buffers (one read each) in
 * both modes, so the two runs differ only by the checksum. Prints {ms: creation→last PATCH, ...}.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { DefaultHttpStack, Upload, type HttpRequest, type HttpStack } from 'tus-js-client';
import { args, fail, finish, now, required } from './common.js';

const options = args();
const endpoint = required(options, 'endpoint');
const path = required(options, 'file');
const chunkSize = Number(options['chunk-size'] ?? 8 * 1024 * 1024);
const checksum = options.checksum === '1';

/** Reads [start, end) of the file into one buffer. */
async function fileSource(filePath: string) {
  const size = (await stat(filePath)).size;
  const handle = await open(filePath, 'r');
  return {
    size,
    async slice(start: number, end: number) {
      const length = Math.max(0, Math.min(end, size) - start);
      const bytes = Buffer.allocUnsafe(length);
      for (let filled = 0; filled < length;) {
        const { bytesRead } = await handle.read(bytes, filled, length - filled, start + filled);
        if (bytesRead === 0) throw new Error('short read');
        filled += bytesRead;
      }
      // tus-js-client reads a slice's length from `.size` (its own BufferSource sets it too).
      return { value: Object.assign(bytes, { size: length }), done: start + length >= size };
    },
    close() {
      void handle.close();
    },
  };
}

/** tus-js-client's own Node HTTP stack, adding Upload-Checksum to each PATCH from its body. */
class ChecksumHttpStack implements HttpStack {
  readonly #inner = new DefaultHttpStack({});

  createRequest(method: string, url: string): HttpRequest {
    const request = this.#inner.createRequest(method, url);
    const send = request.send.bind(request);
    request.send = (body: unknown) => {
      if (method === 'PATCH' && Buffer.isBuffer(body)) {
        request.setHeader('Upload-Checksum', `sha1 ${createHash('sha1').update(body).digest('base64')}`);
      }
      return send(body);
    };
    return request;
  }

  getName(): string {
    return 'ChecksumHttpStack';
  }
}

try {
  const source = await fileSource(path);
  let patches = 0;
  const t0 = now();
  const url = await new Promise<string>((resolve, reject) => {
    const upload = new Upload(Buffer.alloc(0), {
      endpoint, chunkSize, parallelUploads: 1, retryDelays: null,
      metadata: { filename: basename(path) },
      uploadSize: source.size,
      storeFingerprintForResuming: false,
      fingerprint: async () => '',
      fileReader: { openFile: async () => source },
      httpStack: checksum ? new ChecksumHttpStack() : new DefaultHttpStack({}),
      onChunkComplete: () => {
        patches++;
      },
      onSuccess: () => resolve(upload.url!),
      onError: reject,
    });
    upload.start();
  });
  const t1 = now();
  source.close();
  finish({ ms: t1 - t0, bytes: source.size, url, patches, checksum });
} catch (error) {
  fail(error);
}
