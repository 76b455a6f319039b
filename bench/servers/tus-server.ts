/**
 * The tus contender: @tus/server with @tus/file-store on node:http, as their README sets them up.
 *
 * @tus/server 2.x does not implement tus's checksum extension, so it is added here, the smallest
 * way: when a PATCH carries `Upload-Checksum: sha1 <base64>`, the bytes are SHA-1'd as they stream
 * into the FileStore and compared at the end; on a mismatch the file is truncated back to the
 * request's offset and the answer is 460 Checksum Mismatch (the spec's code). Without the header
 * nothing is hashed, so plain tus is plain @tus/server. Usage: --dir DIR --port N
 */
import { createHash } from 'node:crypto';
import { truncate } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { args, required } from '../clients/common.js';

const options = args();
const directory = required(options, 'dir');
const port = Number(required(options, 'port'));

/** The Upload-Checksum of the PATCH in progress, per upload (tus locks an upload per PATCH). */
const expected = new Map<string, { algorithm: string; digest: string }>();

class ChecksumFileStore extends FileStore {
  constructor(config: ConstructorParameters<typeof FileStore>[0]) {
    super(config);
    this.extensions = [...this.extensions, 'checksum'];
  }

  override async write(readable: Readable, fileId: string, offset: number): Promise<number> {
    const checksum = expected.get(fileId);
    expected.delete(fileId);
    if (!checksum) return super.write(readable, fileId, offset);
    const hash = createHash('sha1');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    readable.on('error', (error) => hashing.destroy(error));
    const newOffset = await super.write(readable.pipe(hashing) as unknown as PassThrough, fileId, offset);
    if (hash.digest('base64') !== checksum.digest) {
      await truncate(join(directory, fileId), offset);
      throw { status_code: 460, body: 'Checksum Mismatch\n' };
    }
    return newOffset;
  }
}

const tus = new Server({
  path: '/files',
  datastore: new ChecksumFileStore({ directory }),
  async onIncomingRequest(request, uploadId) {
    if (request.method !== 'PATCH') return;
    const header = request.headers.get('upload-checksum');
    if (header === null) return;
    const [algorithm, digest] = header.trim().split(/\s+/);
    if (algorithm !== 'sha1' || !digest) throw { status_code: 400, body: 'Unsupported checksum algorithm\n' };
    expected.set(uploadId, { algorithm, digest });
  },
});

const server = createServer((request, response) => {
  void tus.handle(request, response);
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
