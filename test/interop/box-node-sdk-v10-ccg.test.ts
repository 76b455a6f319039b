/**
 * Interop: box-node-sdk 10.x authenticating with Box's client credentials grant (BoxCcgAuth) against a
 * real Partway over loopback, unchanged but for the base URLs: it asks `<baseUrl>/oauth2/token` for a
 * token, then uploads a chunked file with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxCcgAuth, BoxClient, CcgConfig } from 'box-node-sdk';
import { Applications } from '../../src/core/applications.js';
import { startServer, type TestServer } from '../helpers/partway.js';
import { PART_SIZE, RequestLog, digestStream, partLayout, scratchDir, shape, streamOf, type Scratch } from './support.js';

describe('box-node-sdk v10 with BoxCcgAuth (client credentials) against Partway', () => {
  let server: TestServer;
  let scratch: Scratch;
  let log: RequestLog;

  beforeAll(async () => {
    server = await startServer();
    scratch = await scratchDir();
    log = new RequestLog(server.partway.app.server);
  });
  afterAll(async () => {
    log?.detach();
    await server?.close();
    await scratch?.remove();
  });

  function clientFor(config: CcgConfig): BoxClient {
    return new BoxClient({ auth: new BoxCcgAuth({ config }) }).withCustomBaseUrls({
      baseUrl: server.url, uploadUrl: `${server.url}/api`, oauth2Url: `${server.url}/oauth2`,
    });
  }

  it('gets a token for the app\'s user and uploads a 24 MiB file with uploadBigFile that downloads byte-identical', async () => {
    const app = await new Applications(server.partway.stores.metadata, server.partway.tokens).create('ccg-robot');
    const client = clientFor(new CcgConfig({ clientId: app.clientId, clientSecret: app.clientSecret, userId: app.user.id }));
    const mark = log.mark();

    const me = await client.users.getUserMe();
    expect(me.id).toBe(app.user.id);
    expect(me.login).toBe('ccg-robot');

    const source = await scratch.randomFile('ccg-24m.bin', 3 * PART_SIZE);
    const file = await client.chunkedUploads.uploadBigFile(streamOf(source), 'ccg-24m.bin', source.size, '0');
    expect(file.size).toBe(source.size);
    expect(file.sha1).toBe(source.sha1);
    expect(await digestStream((await client.downloads.downloadFile(file.id))!)).toEqual({ sha1: source.sha1, size: source.size });

    // One token request, without any bearer token, then the API with the token it got.
    const requests = log.since(mark);
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/oauth2/token', status: 200 });
    expect(requests[0]!.headers.authorization).toBeUndefined();
    expect(requests.filter((request) => request.url.includes('oauth2'))).toHaveLength(1);
    const session = requests.find((request) => request.url === '/api/2.0/files/upload_sessions')!;
    expect(session.headers.authorization).toMatch(/^Bearer pw_[0-9a-f]{16}_/);
    expect(shape(requests).filter((line) => line.startsWith('PUT'))).toHaveLength(partLayout(source.size).length);
  });

  it('a wrong secret fails in the SDK as Box\'s invalid_client, and no API request is made', async () => {
    const app = await new Applications(server.partway.stores.metadata, server.partway.tokens).create('ccg-wrong');
    const client = clientFor(new CcgConfig({ clientId: app.clientId, clientSecret: 'x'.repeat(32), userId: app.user.id }));
    const mark = log.mark();
    await expect(client.users.getUserMe()).rejects.toMatchObject({ responseInfo: { statusCode: 400, body: { error: 'invalid_client' } } });
    expect(log.since(mark).map((request) => request.url)).toEqual(['/oauth2/token']);
  });
});
