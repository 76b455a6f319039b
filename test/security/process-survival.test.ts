import { Agent, request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomData, sha1Base64, startServer } from '../helpers/partway.js';
import { expectBoxError, expectBoxErrorOrParserRefusal, rawExchange, send, startIsolatedServer, type IsolatedServer } from '../helpers/security.js';

/**
 * Requests whose bodies end badly, against a server in its own process: nothing catches what escapes
 * a request there (as in `partway serve`), so a crash ends the process and fails the test. After
 * every test the process must still run and answer /healthz.
 */

const PART = 64 * 1024;
const SIZE = 3 * PART + 1000;
const BOUNDARY = 'partway-hostile';

let server: IsolatedServer | undefined;

// A test whose request kills the process fails; the next one starts on a new process.
beforeEach(async () => {
  if (server && await server.alive()) return;
  await server?.stop();
  server = await startIsolatedServer({ basePartSize: String(PART), minChunkedSize: '100000' });
});
afterAll(() => server?.stop());
afterEach(async () => {
  expect(await live().alive(), `the server process died; its stderr:\n${live().stderr()}`).toBe(true);
});

function live(): IsolatedServer {
  if (!server) throw new Error('no server');
  return server;
}

function attributesPart(attributes: unknown): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify(attributes)}\r\n`;
}

/** A multipart body whose file part starts but never ends: no closing boundary, the stream just stops. */
function cutInsideFile(attributes: unknown): string {
  return `${attributesPart(attributes)}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n`
    + 'Content-Type: application/octet-stream\r\n\r\nthe first bytes of a file that never ends';
}

function postMultipart(url: string, body: string) {
  return send('POST', url, { token: live().token, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body });
}

async function uploadSmallFile(name: string): Promise<string> {
  const body = `${attributesPart({ name, parent: { id: '0' } })}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhello\r\n--${BOUNDARY}--\r\n`;
  const reply = await postMultipart(`${live().api}/files/content`, body);
  expect(reply.status, reply.text).toBe(201);
  return reply.json.entries[0].id as string;
}

describe('a simple upload whose multipart body ends inside the file part', () => {
  it('answers 400 bad_request and the server process keeps running', async () => {
    const reply = await postMultipart(`${live().api}/files/content`, cutInsideFile({ name: 'cut.bin', parent: { id: '0' } }));
    expectBoxError(reply, { status: 400, code: 'bad_request' });
  });

  it('answers 400 item_name_invalid when the name is bad too, and the server process keeps running', async () => {
    const reply = await postMultipart(`${live().api}/files/content`, cutInsideFile({ name: '../cut.bin', parent: { id: '0' } }));
    expectBoxError(reply, { status: 400, code: ['item_name_invalid', 'bad_request'] });
  });

  it('answers 404 when the parent is unknown, and the server process keeps running', async () => {
    const reply = await postMultipart(`${live().api}/files/content`, cutInsideFile({ name: 'cut.bin', parent: { id: '987654321' } }));
    expectBoxError(reply, { status: [400, 404], code: ['not_found', 'bad_request'] });
  });

  it('answers 400 on POST /files/{id}/content (a new version) and the server process keeps running', async () => {
    const fileId = await uploadSmallFile('version-target.txt');
    const reply = await postMultipart(`${live().upload}/files/${fileId}/content`, cutInsideFile({}));
    expectBoxError(reply, { status: 400, code: 'bad_request' });
    const items = await send('GET', `${live().api}/folders/0/items`, { token: live().token });
    expect(items.json.entries.map((item: { name: string }) => item.name)).not.toContain('cut.bin');
  });

  it('keeps running when the client drops the connection in the middle of the file part, and keeps nothing of it', async () => {
    const head = `${attributesPart({ name: 'dropped.bin', parent: { id: '0' } })}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`;
    const body = Buffer.concat([Buffer.from(head), randomData(20_000)]);
    const request = Buffer.concat([Buffer.from(`POST /2.0/files/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${live().token}\r\n`
      + `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length + 50_000}\r\n\r\n`), body]);
    // The server waits for the rest of the body, so no answer comes; after 300 ms the client closes the connection.
    const dropped = await rawExchange(live().url, request, { timeoutMs: 300 }).then(
      (reply) => `an answer before the body was complete: ${reply.status} ${reply.text}`,
      (error: Error) => error.message);
    expect(dropped).toMatch(/no answer within 300 ms/);
    const items = await send('GET', `${live().api}/folders/0/items`, { token: live().token });
    expect(items.status, items.text).toBe(200);
    expect(items.json.entries.map((item: { name: string }) => item.name)).not.toContain('dropped.bin');
    // The name was not held by the dropped upload.
    await uploadSmallFile('dropped.bin');
  });
});

describe('a part or commit whose body ends early', () => {
  async function createSession(name: string) {
    const reply = await send('POST', `${live().upload}/files/upload_sessions`, {
      token: live().token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder_id: '0', file_size: SIZE, file_name: name }),
    });
    expect(reply.status, reply.text).toBe(201);
    return reply.json.id as string;
  }

  it('keeps running when a part is cut off, records nothing, and takes the part again at once', async () => {
    const sessionId = await createSession('cut-part.bin');
    const data = randomData(SIZE);
    const bytes = data.subarray(0, PART);
    const head = `PUT /api/2.0/files/upload_sessions/${sessionId} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${live().token}\r\n`
      + `Content-Range: bytes 0-${PART - 1}/${SIZE}\r\nDigest: sha=${sha1Base64(bytes)}\r\nContent-Length: ${PART}\r\n\r\n`;
    await rawExchange(live().url, Buffer.concat([Buffer.from(head), bytes.subarray(0, 1000)]), { timeoutMs: 300 }).catch(() => undefined);
    await rawExchange(live().url, Buffer.concat([Buffer.from(head), bytes.subarray(0, 1000)]), { halfClose: true, timeoutMs: 2000 }).catch(() => undefined);
    const parts = await send('GET', `${live().upload}/files/upload_sessions/${sessionId}/parts`, { token: live().token });
    expect(parts.json.total_count).toBe(0);
    const again = await send('PUT', `${live().upload}/files/upload_sessions/${sessionId}`, {
      token: live().token, headers: { 'content-range': `bytes 0-${PART - 1}/${SIZE}`, digest: `sha=${sha1Base64(bytes)}` }, body: bytes,
    });
    expect(again.status, again.text).toBe(200);
  });

  it('keeps running when a commit body is cut off', async () => {
    const sessionId = await createSession('cut-commit.bin');
    const json = JSON.stringify({ parts: [{ offset: 0, size: PART }] });
    const head = `POST /api/2.0/files/upload_sessions/${sessionId}/commit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${live().token}\r\n`
      + `Content-Type: application/json\r\nDigest: sha=${sha1Base64(Buffer.from('x'))}\r\nContent-Length: ${json.length + 100}\r\n\r\n${json}`;
    // The answer comes after the client's end of the stream: a 400, from the app or from Node's parser.
    const reply = await rawExchange(live().url, head, { halfClose: true, timeoutMs: 2000 });
    expectBoxErrorOrParserRefusal(reply, { status: 400 });
  });
});

describe('a client that keeps its connection open during shutdown', () => {
  it('does not hold up close() once the response it was reading is complete', async () => {
    // Found while fuzzing: close() waited for the 72 s keep-alive timeout of a connection whose
    // download was still being sent when close() began. SIGTERM then takes as long to exit.
    const local = await startServer();
    const agent = new Agent({ keepAlive: true });
    let closing: Promise<void> | undefined;
    try {
      const data = randomData(8 * 1024 * 1024);
      const body = Buffer.concat([
        Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n{"name":"big.bin","parent":{"id":"0"}}\r\n`
          + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`), data, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
      const uploaded = await send('POST', `${local.api}/files/content`, { token: local.token, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body });
      expect(uploaded.status, uploaded.text).toBe(201);
      const redirect = await send('GET', `${local.api}/files/${uploaded.json.entries[0].id}/content`, { token: local.token });
      const received = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(String(redirect.headers.location), { agent }, (res) => {
          res.pause();
          // The download is under way (8 MB do not fit in the socket buffers): now the server is asked to stop.
          setTimeout(() => {
            closing = local.close();
            let count = 0;
            res.on('data', (chunk: Buffer) => { count += chunk.length; });
            res.on('end', () => resolve(count));
            res.resume();
          }, 200);
        });
        req.on('error', reject);
        req.end();
      });
      expect(received).toBe(data.length);
      const closedInTime = await Promise.race([closing!.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))]);
      expect(closedInTime, 'close() still waits 5 s after the last response ended').toBe(true);
    } finally {
      agent.destroy();
      await (closing ?? local.close());
    }
  });
});
