import busboyModule from '@fastify/busboy';
import type { FastifyRequest } from 'fastify';
import { BoxError } from '../core/errors.js';

// A CommonJS module: its default export is reached through `.default` under NodeNext typing and at run time alike.
import { jsonObject } from './parse.js';

/**
 * Box's simple upload is multipart/form-data: an `attributes` JSON field, then the file. The file is
 * handed to `onFile` as a stream while it arrives; nothing of it is buffered here.
 */
export function readSimpleUpload<T>(request: FastifyRequest,
  onFile: (attributes: Record<string, unknown>, file: AsyncIterable<Uint8Array>) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let busboy;
    try {
      busboy = busboyModule.default({ headers: request.headers as never, limits: { fieldSize: 64 * 1024, fields: 16, files: 1, parts: 32 } });
    } catch (error) {
      reject(new BoxError('bad_request', `The upload must be multipart/form-data: ${(error as Error).message}`));
      return;
    }
    let attributes: string | undefined;
    let handled: Promise<T> | undefined;
    busboy.on('field', (name: string, value: string) => {
      if (name === 'attributes') attributes = value;
    });
    busboy.on('file', (_name: string, stream: NodeJS.ReadableStream & AsyncIterable<Uint8Array> & { destroy(error?: Error): void }) => {
      // A body that ends inside the file part makes busboy emit an error on this stream, perhaps before
      // anyone reads it: unheard, it would crash the process. Destroying passes it on to the reader.
      let malformed: Error | undefined;
      stream.on('error', (error: Error) => {
        malformed = error;
        stream.destroy(error);
      });
      if (handled) {
        stream.resume();
        return;
      }
      handled = attributes === undefined
        ? Promise.reject(new BoxError('metadata_after_file_contents'))
        : parseAttributes(attributes).then((parsed) => onFile(parsed, stream));
      handled.catch((error: unknown) => {
        // The file's reader stopped early: the parser would wait for it for ever and stop reading the
        // request, stalling its connection. Let go of the request; the rest of its body is discarded
        // after the answer (unread-body.ts), within its bounds.
        request.raw.unpipe(busboy);
        stream.resume();
        reject(malformed && !(error instanceof BoxError) ? new BoxError('bad_request', `Malformed multipart body: ${malformed.message}`) : error);
      });
    });
    busboy.on('finish', () => {
      if (handled) handled.then(resolve, reject);
      else reject(new BoxError('bad_request', 'The upload has no file part'));
    });
    busboy.on('error', (error: unknown) => reject(new BoxError('bad_request', `Malformed multipart body: ${(error as Error).message}`)));
    request.raw.on('error', reject);
    request.raw.pipe(busboy);
  });
}

async function parseAttributes(text: string): Promise<Record<string, unknown>> {
  try {
    return jsonObject(JSON.parse(text));
  } catch (error) {
    if (error instanceof BoxError) throw error;
    throw new BoxError('bad_request', 'The attributes field is not valid JSON');
  }
}
