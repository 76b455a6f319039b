/**
 * Interop: box-node-sdk 10.x authenticating as an application with Box's JWT grant (BoxJwtAuth) and, for
 * the token refresh, with the client credentials grant (BoxCcgAuth), against a real Partway over
 * loopback, unchanged but for the base URLs. The key pair is made here; `partway app create` and `app
 * add-key` run as the real CLI. The SDK signs `aud` = Box's token URL and sends no `kid` (see
 * src/core/jwt-grant.ts); it asks for a new token when a request answers 401 (networking/retries.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxCcgAuth, BoxClient, BoxJwtAuth, CcgConfig, JwtConfig } from 'box-node-sdk';
import type { Authentication } from 'box-node-sdk/networking/auth';
import { startServer, type TestServer } from '../helpers/partway.js';
import { createJwtApp as createApp, KEY_PASSPHRASE as PASSPHRASE, type JwtApp as App } from '../helpers/applications.js';
import { runCli } from '../helpers/process.js';
import { PART_SIZE, RequestLog, digestStream, partLayout, scratchDir, shape, streamOf, type Scratch } from './support.js';

/** The config JSON Box's developer console downloads for a JWT app, filled in for `app` and a subject. */
function boxConfigJson(app: App, subject: { enterpriseID?: string; userID?: string }): string {
  return JSON.stringify({
    boxAppSettings: {
      clientID: app.clientId, clientSecret: app.clientSecret, appAuth: { publicKeyID: app.keyId, privateKey: app.privateKey, passphrase: PASSPHRASE },
    },
    ...subject,
  });
}

function clientFor(server: TestServer, auth: Authentication): BoxClient {
  return new BoxClient({ auth }).withCustomBaseUrls({ baseUrl: server.url, uploadUrl: `${server.url}/api`, oauth2Url: `${server.url}/oauth2` });
}

describe('box-node-sdk v10 with BoxJwtAuth (JWT grant) against Partway', () => {
  let server: TestServer;
  let scratch: Scratch;
  let log: RequestLog;
  let app: App;

  beforeAll(async () => {
    server = await startServer();
    scratch = await scratchDir();
    log = new RequestLog(server.partway.app.server);
    app = await createApp(server, 'jwt-robot');
  });
  afterAll(async () => {
    log?.detach();
    await server?.close();
    await scratch?.remove();
  });

  it('gets a token for the app\'s user and uploads a 24 MiB file with uploadBigFile that downloads byte-identical', async () => {
    const config = new JwtConfig({
      clientId: app.clientId, clientSecret: app.clientSecret, jwtKeyId: app.keyId, privateKey: app.privateKey, privateKeyPassphrase: PASSPHRASE, userId: app.userId,
    });
    const client = clientFor(server, new BoxJwtAuth({ config }));
    const mark = log.mark();

    const me = await client.users.getUserMe();
    expect(me).toMatchObject({ id: app.userId, login: 'jwt-robot' });
    const source = await scratch.randomFile('jwt-24m.bin', 3 * PART_SIZE);
    const file = await client.chunkedUploads.uploadBigFile(streamOf(source), 'jwt-24m.bin', source.size, '0');
    expect(file.size).toBe(source.size);
    expect(file.sha1).toBe(source.sha1);
    expect(await digestStream((await client.downloads.downloadFile(file.id))!)).toEqual({ sha1: source.sha1, size: source.size });

    // One token request, without any bearer token, then the API with the token it got.
    const requests = log.since(mark);
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/oauth2/token', status: 200 });
    expect(requests[0]!.headers.authorization).toBeUndefined();
    expect(requests.filter((request) => request.url.includes('oauth2'))).toHaveLength(1);
    expect(requests.find((request) => request.url === '/api/2.0/files/upload_sessions')!.headers.authorization).toMatch(/^Bearer pw_[0-9a-f]{16}_/);
    expect(shape(requests).filter((line) => line.startsWith('PUT'))).toHaveLength(partLayout(source.size).length);
  });

  it('Box\'s config JSON with an enterprise subject (JwtConfig.fromConfigJsonString) acts as the app\'s user', async () => {
    const client = clientFor(server, new BoxJwtAuth({ config: JwtConfig.fromConfigJsonString(boxConfigJson(app, { enterpriseID: '0' })) }));
    expect(await client.users.getUserMe()).toMatchObject({ id: app.userId, login: 'jwt-robot' });
  });

  it('an app whose key was removed, or that was revoked, fails in the SDK with Box\'s OAuth error, and no API request is made', async () => {
    const other = await createApp(server, 'jwt-doomed');
    const config = new JwtConfig({
      clientId: other.clientId, clientSecret: other.clientSecret, jwtKeyId: other.keyId, privateKey: other.privateKey, privateKeyPassphrase: PASSPHRASE, userId: other.userId,
    });
    await runCli(['app', 'remove-key', '--app', other.clientId, '--key-id', other.keyId], { PARTWAY_DATA_DIR: server.dataDir });
    const mark = log.mark();
    await expect(clientFor(server, new BoxJwtAuth({ config })).users.getUserMe())
      .rejects.toMatchObject({ responseInfo: { statusCode: 400, body: { error: 'invalid_grant' } } });
    await runCli(['app', 'revoke', other.clientId], { PARTWAY_DATA_DIR: server.dataDir });
    await expect(clientFor(server, new BoxJwtAuth({ config })).users.getUserMe())
      .rejects.toMatchObject({ responseInfo: { statusCode: 400, body: { error: 'invalid_client' } } });
    expect(log.since(mark).map((request) => request.url)).toEqual(['/oauth2/token', '/oauth2/token']);
  });
});

describe('box-node-sdk v10 keeps working across token expiry (PARTWAY_ACCESS_TOKEN_LIFETIME=6)', () => {
  // After a 401 the SDK gets a new token, then backs off 1-3 s before it repeats the request: a token
  // that lived less than that would expire again before its first use.
  const LIFETIME_MS = 6000;
  let server: TestServer;
  let scratch: Scratch;
  let log: RequestLog;

  beforeAll(async () => {
    server = await startServer({ accessTokenLifetime: String(LIFETIME_MS / 1000) });
    scratch = await scratchDir();
    log = new RequestLog(server.partway.app.server);
  });
  afterAll(async () => {
    log?.detach();
    await server?.close();
    await scratch?.remove();
  });

  const auths: Record<string, (app: App) => Authentication> = {
    BoxJwtAuth: (app) => new BoxJwtAuth({
      config: new JwtConfig({
        clientId: app.clientId, clientSecret: app.clientSecret, jwtKeyId: app.keyId, privateKey: app.privateKey, privateKeyPassphrase: PASSPHRASE, userId: app.userId,
      }),
    }),
    BoxCcgAuth: (app) => new BoxCcgAuth({ config: new CcgConfig({ clientId: app.clientId, clientSecret: app.clientSecret, userId: app.userId }) }),
  };

  for (const [name, authFor] of Object.entries(auths)) {
    it(`${name}: the expired token's 401 makes the SDK get a new one and go on; a chunked upload after expiry completes`, async () => {
      const app = await createApp(server, `refresh-${name}`);
      const client = clientFor(server, authFor(app));
      const mark = log.mark();
      expect((await client.users.getUserMe()).id).toBe(app.userId);
      const first = log.since(mark)[0]!;
      expect(first).toMatchObject({ url: '/oauth2/token', status: 200 });

      await sleep(LIFETIME_MS + 200);
      const source = await scratch.randomFile(`refresh-${name}.bin`, 3 * PART_SIZE);
      const file = await client.chunkedUploads.uploadBigFile(streamOf(source), `refresh-${name}.bin`, source.size, '0');
      expect(file.sha1).toBe(source.sha1);
      expect(await digestStream((await client.downloads.downloadFile(file.id))!)).toEqual({ sha1: source.sha1, size: source.size });

      // The SDK does not look at expires_in: the first request after expiry is refused with 401, then it
      // asks /oauth2/token again and repeats the request with the new token (more rounds if a slow
      // upload outlives that one too).
      const requests = log.since(mark);
      const refused = requests.findIndex((request) => request.status === 401);
      expect(refused).toBeGreaterThan(0);
      expect(requests[refused + 1]).toMatchObject({ method: 'POST', url: '/oauth2/token', status: 200 });
      expect(requests[refused + 2]).toMatchObject({ method: requests[refused]!.method, url: requests[refused]!.url });
      expect(requests[refused + 2]!.headers.authorization).not.toBe(requests[refused]!.headers.authorization);
      const tokenRequests = requests.filter((request) => request.url === '/oauth2/token');
      expect(tokenRequests.length).toBe(requests.filter((request) => request.status === 401).length + 1);
      expect(tokenRequests.every((request) => request.status === 200)).toBe(true);
    });
  }
});
