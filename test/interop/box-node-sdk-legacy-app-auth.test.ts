/**
 * Interop: the legacy box-node-sdk 3.8.2 (`box-node-sdk-legacy`) authenticating as an application
 * against a real Partway over loopback: JWT through `getAppAuthClient` and the client credentials grant
 * through `getCCGClientForUser`, with only `apiRootURL`/`uploadAPIRootURL` pointed at Partway (its token
 * URL is `<apiRootURL>/oauth2/token`). This SDK signs with jsonwebtoken, names its key in the header's
 * `kid`, sets `aud` to Box's token URL, and sends `client_id`/`client_secret` with every grant.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BoxSDK from 'box-node-sdk-legacy';
import { createJwtApp, KEY_PASSPHRASE, type JwtApp } from '../helpers/applications.js';
import { startServer, type TestServer } from '../helpers/partway.js';
import { runCli } from '../helpers/process.js';
import { MiB, RequestLog, digestStream, partLayout, scratchDir, streamOf, type Scratch } from './support.js';

type LegacyClient = ReturnType<BoxSDK['getBasicClient']>;
interface ChunkedUploader {
  start(): PromiseLike<unknown>;
  on(event: 'chunkError' | 'error', listener: (error: unknown) => void): unknown;
}
interface BoxFiles { total_count: number; entries: Array<{ id: string; name: string; size: number; sha1: string }> }

/** The SDK for `app`, every URL on Partway; the default agent is https.Agent, which refuses http:// URLs. */
function sdkFor(server: TestServer, app: JwtApp): BoxSDK {
  return new BoxSDK({
    clientID: app.clientId,
    clientSecret: app.clientSecret,
    apiRootURL: server.url,
    uploadAPIRootURL: `${server.url}/api`,
    appAuth: { keyID: app.keyId, privateKey: app.privateKey, passphrase: KEY_PASSPHRASE },
    request: { agentClass: http.Agent, agentOptions: { keepAlive: true }, strictSSL: false },
  } as unknown as ConstructorParameters<typeof BoxSDK>[0]);
}

/** Runs a ChunkedUploader to the end; a failed part only emits `chunkError`, so that rejects too. */
function runUploader(uploader: ChunkedUploader): Promise<BoxFiles> {
  return new Promise((resolve, reject) => {
    uploader.on('chunkError', (error) => reject(new Error(`a part failed: ${String((error as Error)?.message ?? error)}`)));
    uploader.on('error', (event) => reject((event as { error?: unknown })?.error ?? event));
    uploader.start().then((result) => resolve(result as BoxFiles), reject);
  });
}

describe('legacy box-node-sdk v3 app auth (JWT and client credentials) against Partway', () => {
  let server: TestServer;
  let scratch: Scratch;
  let log: RequestLog;
  let app: JwtApp;

  beforeAll(async () => {
    server = await startServer();
    scratch = await scratchDir();
    log = new RequestLog(server.partway.app.server);
    app = await createJwtApp(server, 'legacy-robot');
  });
  afterAll(async () => {
    log?.detach();
    await server?.close();
    await scratch?.remove();
  });

  const clients: Record<string, (sdk: BoxSDK) => LegacyClient> = {
    'getAppAuthClient (JWT) as the app user': (sdk) => sdk.getAppAuthClient('user', app.userId),
    'getAppAuthClient (JWT) as the enterprise': (sdk) => sdk.getAppAuthClient('enterprise', '0'),
    'getCCGClientForUser (client credentials)': (sdk) => sdk.getCCGClientForUser(app.userId),
  };

  for (const [name, clientOf] of Object.entries(clients)) {
    it(`${name}: gets a token, then the ChunkedUploader stores a 24 MiB file that downloads byte-identical`, async () => {
      const client = clientOf(sdkFor(server, app));
      const mark = log.mark();
      const me = await client.users.get(client.CURRENT_USER_ID) as { id: string; login: string };
      expect(me).toMatchObject({ id: app.userId, login: 'legacy-robot' });

      const fileName = `${name.split(' ')[0]}-${name.includes('enterprise') ? 'e' : 'u'}.bin`;
      const source = await scratch.randomFile(fileName, 24 * MiB);
      const uploader = await client.files.getChunkedUploader('0', source.size, fileName, streamOf(source), { parallelism: 4 }) as ChunkedUploader;
      const committed = await runUploader(uploader);
      expect(committed.entries[0]).toMatchObject({ name: fileName, size: source.size, sha1: source.sha1 });
      expect(await digestStream(await client.files.getReadStream(committed.entries[0]!.id) as Readable)).toEqual({ sha1: source.sha1, size: source.size });

      const requests = log.since(mark);
      expect(requests[0]).toMatchObject({ method: 'POST', url: '/oauth2/token', status: 200 });
      expect(requests.filter((request) => request.url.includes('oauth2'))).toHaveLength(1);
      expect(requests.filter((request) => request.method === 'PUT' && request.url.includes('upload_sessions'))).toHaveLength(partLayout(source.size).length);
      expect(requests.slice(1).every((request) => /^Bearer pw_[0-9a-f]{16}_/.test(String(request.headers.authorization)))).toBe(true);
    });
  }

  it('a revoked app: the SDK\'s next token request is refused with Box\'s invalid_client', async () => {
    const doomed = await createJwtApp(server, 'legacy-doomed');
    await runCli(['app', 'revoke', doomed.clientId], { PARTWAY_DATA_DIR: server.dataDir });
    const client = sdkFor(server, doomed).getAppAuthClient('user', doomed.userId);
    await expect(client.users.get(client.CURRENT_USER_ID)).rejects.toMatchObject({ statusCode: 400, response: { body: { error: 'invalid_client' } } });
  });
});

describe('legacy box-node-sdk v3 app auth across token expiry (PARTWAY_ACCESS_TOKEN_LIFETIME=2)', () => {
  let server: TestServer;
  let log: RequestLog;
  beforeAll(async () => {
    server = await startServer({ accessTokenLifetime: '2' });
    log = new RequestLog(server.partway.app.server);
  });
  afterAll(async () => {
    log?.detach();
    await server?.close();
  });

  it('asks for a new token ahead of expiry (its 3-minute margin: here before each request), so no request meets an expired one', async () => {
    const app = await createJwtApp(server, 'legacy-short');
    for (const client of [sdkFor(server, app).getAppAuthClient('user', app.userId), sdkFor(server, app).getCCGClientForUser(app.userId)]) {
      const mark = log.mark();
      for (let round = 0; round < 2; round++) {
        expect(await client.users.get(client.CURRENT_USER_ID)).toMatchObject({ id: app.userId });
        await sleep(2100);
      }
      expect(await client.users.get(client.CURRENT_USER_ID)).toMatchObject({ id: app.userId });
      const requests = log.since(mark);
      expect(requests.map((request) => `${request.url} ${request.status}`)).toEqual(
        Array.from({ length: 3 }, () => ['/oauth2/token 200', '/2.0/users/me 200']).flat());
    }
  });
});
