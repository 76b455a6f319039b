import { createHash, randomBytes, randomInt } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { TEST_S3 } from '../helpers/s3.js';

// A simple upload that fails after its bytes are stored must discard them by their upload reference,
// not by the blob key (on S3 the two differ): it once answered 500 and left the object behind.

let server: TestServer;
let s3: S3Client;

beforeAll(async () => {
  if (!TEST_S3) return;
  server = await startServer({
    s3Endpoint: TEST_S3.endpoint, s3Bucket: TEST_S3.bucket, s3Region: TEST_S3.region,
    s3AccessKeyId: TEST_S3.accessKeyId, s3SecretAccessKey: TEST_S3.secretAccessKey,
  });
  s3 = new S3Client({
    endpoint: TEST_S3.endpoint, region: TEST_S3.region, forcePathStyle: true,
    credentials: { accessKeyId: TEST_S3.accessKeyId!, secretAccessKey: TEST_S3.secretAccessKey! },
  });
});
afterAll(async () => {
  await server?.close();
  s3?.destroy();
});

const BOUNDARY = 'partway-s3-simple-upload';

/** Box's simple upload as a stream, so a test can act between the attributes and the end of the file. */
async function* multipart(attributes: object, data: Buffer, beforeEnd: () => Promise<void> = async () => {}): AsyncGenerator<Buffer> {
  yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify(attributes)}\r\n`
    + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  yield data.subarray(0, data.length - 1);
  await beforeEnd();
  yield Buffer.concat([data.subarray(data.length - 1), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

function upload(path: string, body: AsyncIterable<Buffer>, headers: Record<string, string> = {}) {
  return call('POST', `${server.upload}${path}`, {
    token: server.token, body, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
  });
}

/** Content of a size and SHA-1 no other test writes, so the bucket can be searched for it. */
function uniqueContent(): Buffer {
  return randomBytes(100_000 + randomInt(900_000));
}

/** The keys of the objects in the bucket that hold exactly `data` (the bucket is shared with other tests). */
async function objectsHolding(data: Buffer): Promise<string[]> {
  const found: string[] = [];
  const sha1 = sha1Hex(data);
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: TEST_S3!.bucket })) {
    for (const object of page.Contents ?? []) {
      if (object.Size !== data.length) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket: TEST_S3!.bucket, Key: object.Key! }));
      const bytes = Buffer.from(await body.Body!.transformToByteArray());
      if (createHash('sha1').update(bytes).digest('hex') === sha1) found.push(object.Key!);
    }
  }
  return found;
}

describe.skipIf(!TEST_S3)('a failed simple upload on S3', () => {
  it('answers 412 to a stale If-Match on a new version and leaves no object in the bucket', async () => {
    const first = await upload('/files/content', multipart({ name: `doc-${randomInt(1e9)}.bin`, parent: { id: '0' } }, randomBytes(1000)));
    expect(first.status).toBe(201);
    const fileId = first.json.entries[0].id as string;

    const rejected = uniqueContent();
    const stale = await upload(`/files/${fileId}/content`, multipart({}, rejected), { 'if-match': '7' });
    expect(stale.status).toBe(412);
    expect(stale.json).toMatchObject({ type: 'error', status: 412, code: 'precondition_failed' });
    expect(await objectsHolding(rejected)).toEqual([]);

    const file = await call('GET', `${server.api}/files/${fileId}`, { token: server.token });
    expect(file.json).toMatchObject({ etag: '0', size: 1000 });
  });

  it('answers 409 when another item takes the name while the bytes arrive, and leaves no object in the bucket', async () => {
    const name = `race-${randomInt(1e9)}.bin`;
    const lost = uniqueContent();
    let folderId = '';
    const answer = await upload('/files/content', multipart({ name, parent: { id: '0' } }, lost, async () => {
      // By now the server has found the name free and is storing the bytes.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const folder = await call('POST', `${server.api}/folders`, { token: server.token, json: { name, parent: { id: '0' } } });
      expect(folder.status).toBe(201);
      folderId = folder.json.id;
    }));
    expect(answer.status).toBe(409);
    expect(answer.json).toMatchObject({ type: 'error', status: 409, code: 'item_name_in_use', context_info: { conflicts: { id: folderId } } });
    expect(await objectsHolding(lost)).toEqual([]);
  });
});
