import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, startServer, type Reply, type TestServer } from '../helpers/partway.js';
import { runCli } from '../helpers/process.js';

/** Where SDKs ask for a token: Box's oauth2Url at the root, and under both API prefixes. */
const TOKEN_PATHS = ['/oauth2/token', '/2.0/oauth2/token', '/api/2.0/oauth2/token'];

interface CreatedApp { clientId: string; clientSecret: string; userId: string }

/** `partway app create` against the running server's data directory, as an operator would. */
async function createApp(server: TestServer, user: string): Promise<CreatedApp> {
  const { stdout } = await runCli(['app', 'create', '--user', user], { PARTWAY_DATA_DIR: server.dataDir });
  const fields = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('\t') as [string, string]));
  return { clientId: fields.client_id!, clientSecret: fields.client_secret!, userId: fields.user_id! };
}

function requestToken(server: TestServer, form: Record<string, string>, path = '/oauth2/token'): Promise<Reply> {
  return call('POST', `${server.url}${path}`, {
    token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
  });
}

function grantFor(app: CreatedApp, extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret,
    box_subject_type: 'user', box_subject_id: app.userId, ...extra,
  };
}

function expectRefusal(reply: Reply, error: string, label: string): void {
  expect(reply.status, label).toBe(400);
  expect(reply.json, label).toEqual({ error, error_description: expect.any(String) });
  expect(reply.headers['cache-control'], label).toBe('no-store');
}

describe('POST /oauth2/token (client credentials grant)', () => {
  const clock = new AdvancingClock();
  const logLines: string[] = [];
  let server: TestServer;
  let app: CreatedApp;

  beforeAll(async () => {
    const logger = pino({ level: 'trace' }, { write: (line: string) => { logLines.push(line); } }) as Logger;
    server = await startServer({}, { now: clock.now, logger });
    app = await createApp(server, 'robot');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('trades the client credentials for an hour-long bearer token of the app\'s user, at every path SDKs use', async () => {
    expect(app.clientId).toMatch(/^[0-9a-z]{32}$/);
    expect(app.clientSecret).toMatch(/^[0-9a-z]{32}$/);
    for (const path of TOKEN_PATHS) {
      for (const subject of [{ box_subject_type: 'user', box_subject_id: app.userId }, { box_subject_type: 'enterprise', box_subject_id: '0' }]) {
        const reply = await requestToken(server, grantFor(app, subject), path);
        expect(reply.status, path).toBe(200);
        expect(reply.headers['cache-control']).toBe('no-store');
        expect(reply.json).toEqual({ access_token: expect.stringMatching(/^pw_/), expires_in: 3600, restricted_to: [], token_type: 'bearer' });
        const me = await call('GET', `${server.api}/users/me`, { token: reply.json.access_token });
        expect(me.status).toBe(200);
        expect(me.json).toMatchObject({ id: app.userId, login: 'robot' });
      }
    }
  });

  it('the access token stops working after 60 minutes, with the same 401 as any bad token', async () => {
    const { json } = await requestToken(server, grantFor(app));
    const tokenId = /^pw_([0-9a-f]{16})_/.exec(json.access_token)![1]!;
    const { stdout } = await runCli(['token', 'list', '--user', 'robot'], { PARTWAY_DATA_DIR: server.dataDir });
    expect(stdout).toMatch(new RegExp(`^${tokenId}\\trobot\\tcreated \\S+\\tactive, expires \\S+$`, 'm'));
    clock.advance(59 * 60_000);
    expect((await call('GET', `${server.api}/users/me`, { token: json.access_token })).status).toBe(200);
    clock.advance(60_000);
    const expired = await call('GET', `${server.api}/users/me`, { token: json.access_token });
    const unknown = await call('GET', `${server.api}/users/me`, { token: 'pw_0123456789abcdef_' + 'A'.repeat(43) });
    expect(expired.status).toBe(401);
    expect({ ...expired.json, request_id: '' }).toEqual({ ...unknown.json, request_id: '' });
  });

  it('refuses a request without a form body or grant_type as invalid_request', async () => {
    for (const path of TOKEN_PATHS) {
      expectRefusal(await call('POST', `${server.url}${path}`, { token: null }), 'invalid_request', `${path} no body`);
      expectRefusal(await call('POST', `${server.url}${path}`, { token: null, json: grantFor(app) }), 'invalid_request', `${path} JSON`);
      const { grant_type: _omitted, ...noGrantType } = grantFor(app);
      expectRefusal(await requestToken(server, noGrantType, path), 'invalid_request', `${path} no grant_type`);
    }
    const { box_subject_type: _type, ...noSubjectType } = grantFor(app);
    expectRefusal(await requestToken(server, noSubjectType), 'invalid_request', 'no box_subject_type');
    expectRefusal(await requestToken(server, grantFor(app, { box_subject_type: 'group' })), 'invalid_request', 'box_subject_type group');
    const { box_subject_id: _id, ...noSubjectId } = grantFor(app);
    expectRefusal(await requestToken(server, noSubjectId), 'invalid_request', 'user without box_subject_id');
  });

  it('refuses a grant type it does not know as unsupported_grant_type', async () => {
    for (const grantType of ['password', 'urn:ietf:params:oauth:grant-type:token-exchange', 'toString', '__proto__', '']) {
      expectRefusal(await requestToken(server, grantFor(app, { grant_type: grantType })), 'unsupported_grant_type', grantType);
    }
  });

  it('refuses a missing, unknown or wrong client id or secret as invalid_client', async () => {
    const cases: Record<string, Record<string, string>> = {
      'no client_id': { client_id: '' },
      'no client_secret': { client_secret: '' },
      'unknown client_id': { client_id: 'z'.repeat(32) },
      'malformed client_id': { client_id: "' OR 1=1 --" },
      'wrong secret': { client_secret: app.clientSecret.replace(/.$/, (last) => (last === 'a' ? 'b' : 'a')) },
      'another app\'s secret': { client_secret: 'q'.repeat(32) },
    };
    for (const [label, change] of Object.entries(cases)) expectRefusal(await requestToken(server, grantFor(app, change)), 'invalid_client', label);
  });

  it('refuses a box_subject_id that is not the app\'s user as invalid_grant', async () => {
    const other = await createApp(server, 'other-robot');
    expectRefusal(await requestToken(server, grantFor(app, { box_subject_id: other.userId })), 'invalid_grant', 'another user');
    expectRefusal(await requestToken(server, grantFor(app, { box_subject_id: '999999' })), 'invalid_grant', 'no such user');
  });

  it('a revoked app is refused as invalid_client; `app list` shows it revoked', async () => {
    const doomed = await createApp(server, 'doomed-robot');
    expect((await requestToken(server, grantFor(doomed))).status).toBe(200);
    await runCli(['app', 'revoke', doomed.clientId], { PARTWAY_DATA_DIR: server.dataDir });
    expectRefusal(await requestToken(server, grantFor(doomed)), 'invalid_client', 'revoked');
    const { stdout } = await runCli(['app', 'list'], { PARTWAY_DATA_DIR: server.dataDir });
    expect(stdout).toMatch(new RegExp(`^${app.clientId}\\trobot\\tuser ${app.userId}\\tcreated \\S+\\tactive$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^${doomed.clientId}\\tdoomed-robot\\tuser \\d+\\tcreated \\S+\\trevoked \\S+$`, 'm'));
    expect(stdout).not.toContain(doomed.clientSecret);
    await expect(runCli(['app', 'revoke', doomed.clientId], { PARTWAY_DATA_DIR: server.dataDir })).rejects.toThrow(/No active application/);
  });

  it('neither the client secret nor an access token\'s secret is ever written to the database or the logs', async () => {
    const { json } = await requestToken(server, grantFor(app));
    const tokenSecret = /^pw_[0-9a-f]{16}_(.+)$/.exec(json.access_token)![1]!;
    const files = (await readdir(server.dataDir, { recursive: true })).map((name) => join(server.dataDir, String(name)));
    const databaseFiles = files.filter((name) => /\.(db|sqlite)(-wal|-shm)?$/.test(name) || /metadata/.test(name));
    expect(databaseFiles.length).toBeGreaterThan(0);
    for (const file of databaseFiles) {
      const bytes = await readFile(file).catch(() => Buffer.alloc(0));
      expect(bytes.includes(app.clientSecret), file).toBe(false);
      expect(bytes.includes(tokenSecret), file).toBe(false);
    }
    expect(logLines.length).toBeGreaterThan(0);
    const logs = logLines.join('\n');
    expect(logs).not.toContain(app.clientSecret);
    expect(logs).not.toContain(tokenSecret);
  });
});
