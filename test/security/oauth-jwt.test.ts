import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, startServer, type Reply, type TestServer } from '../helpers/partway.js';
import { runCli, spawnServer, waitForExit } from '../helpers/process.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** What Box's SDKs put in `aud`, whatever base URL they were given. */
const BOX_AUDIENCE = 'https://api.box.com/oauth2/token';

interface CreatedApp { clientId: string; clientSecret: string; userId: string }

function rsaKeyPair(bits = 2048): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The server's clock, which the tests move on; the app signs by it too. */
const clock = new AdvancingClock();

/** The claims box-node-sdk signs, for `app`'s user; `change` replaces or (with undefined) drops some. */
function claimsFor(app: CreatedApp, change: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(clock.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: app.clientId, sub: app.userId, box_sub_type: 'user', aud: BOX_AUDIENCE, jti: randomUUID(), exp: now + 30, iat: now, ...change,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}

async function sign(claims: Record<string, unknown>, key: KeyObject, header: { alg?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT(claims as Record<string, never>).setProtectedHeader({ alg: 'RS256', ...header }).sign(key);
}

describe('POST /oauth2/token with Box\'s JWT grant (jwt-bearer), and `partway app add-key`', () => {
  const logLines: string[] = [];
  let server: TestServer;
  let app: CreatedApp;
  const key = rsaKeyPair();
  let keyId: string;

  const cli = (args: string[]) => runCli(args, { PARTWAY_DATA_DIR: server.dataDir });

  async function createApp(user: string): Promise<CreatedApp> {
    const { stdout } = await cli(['app', 'create', '--user', user]);
    const fields = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('\t') as [string, string]));
    return { clientId: fields.client_id!, clientSecret: fields.client_secret!, userId: fields.user_id! };
  }

  /** `partway app add-key` as an operator runs it; returns the key id it prints. */
  async function addKey(clientId: string, publicPem: string, extra: string[] = []): Promise<string> {
    const file = join(server.dataDir, `key-${randomUUID()}.pem`);
    await writeFile(file, publicPem);
    return (await cli(['app', 'add-key', '--app', clientId, '--public-key', file, ...extra])).stdout.trim();
  }

  function requestToken(form: Record<string, string>, path = '/oauth2/token'): Promise<Reply> {
    return call('POST', `${server.url}${path}`, {
      token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
    });
  }

  function jwtGrant(of: CreatedApp, assertion: string, extra: Record<string, string> = {}): Promise<Reply> {
    return requestToken({ grant_type: JWT_BEARER, assertion, client_id: of.clientId, client_secret: of.clientSecret, ...extra });
  }

  function expectRefusal(reply: Reply, error: string, label: string, description?: RegExp): void {
    expect(reply.status, label).toBe(400);
    expect(reply.json, label).toEqual({ error, error_description: expect.any(String) });
    if (description) expect(reply.json.error_description, label).toMatch(description);
  }

  beforeAll(async () => {
    const logger = pino({ level: 'trace' }, { write: (line: string) => { logLines.push(line); } }) as Logger;
    server = await startServer({}, { now: clock.now, logger });
    app = await createApp('jwt-robot');
    keyId = await addKey(app.clientId, key.publicPem);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('add-key prints a new key id or keeps the one given; app list shows each key under its app', async () => {
    expect(keyId).toMatch(/^[0-9a-z]{8}$/);
    const second = rsaKeyPair();
    expect(await addKey(app.clientId, second.publicPem, ['--key-id', 'rotated-2'])).toBe('rotated-2');
    const { stdout } = await cli(['app', 'list']);
    expect(stdout).toMatch(new RegExp(`^${app.clientId}\\tjwt-robot\\tuser ${app.userId}\\tcreated \\S+\\tactive\\n\\tkey ${keyId}\\tadded \\S+\\n\\tkey rotated-2\\tadded \\S+$`, 'm'));
    // Either key signs, with its kid, or without one (box-node-sdk v10 sends none): each key is tried.
    for (const [signer, header] of [[second.privateKey, { kid: 'rotated-2' }], [second.privateKey, {}], [key.privateKey, {}]] as const) {
      expect((await jwtGrant(app, await sign(claimsFor(app), signer, header))).status).toBe(200);
    }
    await cli(['app', 'remove-key', '--app', app.clientId, '--key-id', 'rotated-2']);
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app), second.privateKey, { kid: 'rotated-2' })), 'invalid_grant', 'removed key', /kid/);
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app), second.privateKey)), 'invalid_grant', 'removed key, no kid', /Signature/);
    await expect(cli(['app', 'remove-key', '--app', app.clientId, '--key-id', 'rotated-2'])).rejects.toThrow(/has no key rotated-2/);
  });

  it('add-key refuses what is not a 2048-bit RSA public key, a key id taken, and an unknown app', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(addKey(app.clientId, ec)).rejects.toThrow(/Not an RSA key/);
    await expect(addKey(app.clientId, rsaKeyPair(1024).publicPem)).rejects.toThrow(/shorter than 2048 bits/);
    await expect(addKey(app.clientId, 'not a key')).rejects.toThrow(/Not a PEM public key/);
    await expect(addKey(app.clientId, rsaKeyPair().publicPem, ['--key-id', keyId])).rejects.toThrow(/already has a key/);
    await expect(addKey(app.clientId, rsaKeyPair().publicPem, ['--key-id', 'a b'])).rejects.toThrow(/key id/);
    await expect(addKey('z'.repeat(32), rsaKeyPair().publicPem)).rejects.toThrow(/No active application/);
  });

  it('trades an RS256, RS384 or RS512 assertion for an access token of the app\'s user, at every path, with Box\'s or Partway\'s aud', async () => {
    const audiences = [BOX_AUDIENCE, `${server.url}/oauth2/token`, `${server.url}/2.0/oauth2/token`, `${server.url}/api/2.0/oauth2/token`];
    for (const [index, path] of ['/oauth2/token', '/2.0/oauth2/token', '/api/2.0/oauth2/token'].entries()) {
      for (const alg of ['RS256', 'RS384', 'RS512']) {
        const assertion = await sign(claimsFor(app, { aud: audiences[index + 1]! }), key.privateKey, { alg, kid: keyId });
        const reply = await requestToken({ grant_type: JWT_BEARER, assertion, client_id: app.clientId, client_secret: app.clientSecret }, path);
        expect(reply.status, `${path} ${alg}`).toBe(200);
        expect(reply.headers['cache-control']).toBe('no-store');
        expect(reply.json).toEqual({ access_token: expect.stringMatching(/^pw_/), expires_in: 3600, restricted_to: [], token_type: 'bearer' });
        const me = await call('GET', `${server.api}/users/me`, { token: reply.json.access_token });
        expect(me.json).toMatchObject({ id: app.userId, login: 'jwt-robot' });
      }
    }
    const enterprise = await jwtGrant(app, await sign(claimsFor(app, { box_sub_type: 'enterprise', sub: '0' }), key.privateKey, { kid: keyId }));
    expect(enterprise.status).toBe(200);
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app, { aud: 'https://elsewhere.example/oauth2/token' }), key.privateKey)), 'invalid_grant', 'foreign aud', /'aud'/);
  });

  it('refuses a replayed assertion (same jti), also when two copies race', async () => {
    const assertion = await sign(claimsFor(app), key.privateKey, { kid: keyId });
    const racing = await Promise.all([jwtGrant(app, assertion), jwtGrant(app, assertion), jwtGrant(app, assertion)]);
    expect(racing.map((reply) => reply.status).sort()).toEqual([200, 400, 400]);
    for (const reply of racing.filter((each) => each.status === 400)) expectRefusal(reply, 'invalid_grant', 'race', /'jti'/);
    expectRefusal(await jwtGrant(app, assertion), 'invalid_grant', 'replay', /'jti'/);
    // A new jti in an otherwise identical assertion is a new assertion.
    expect((await jwtGrant(app, await sign(claimsFor(app), key.privateKey, { kid: keyId }))).status).toBe(200);
  });

  it('refuses an expired assertion, one that expires more than 60 s ahead, and one without exp, jti or sub', async () => {
    const now = Math.floor(clock.now() / 1000);
    const cases: Record<string, [Record<string, unknown>, RegExp]> = {
      'expired a minute ago': [{ exp: now - 60 }, /'exp'/],
      'expiring in two minutes': [{ exp: now + 120 }, /'exp'/],
      'no exp': [{ exp: undefined }, /'exp'/],
      'no jti': [{ jti: undefined }, /'jti'/],
      'a short jti': [{ jti: 'abc' }, /'jti'/],
      'no sub': [{ sub: undefined }, /'sub'/],
      'another user as sub': [{ sub: '999999' }, /'sub'/],
      'an unknown box_sub_type': [{ box_sub_type: 'group' }, /'box_sub_type'/],
      'another app as iss': [{ iss: 'q'.repeat(32) }, /'iss'/],
    };
    for (const [label, [change, description]] of Object.entries(cases)) {
      expectRefusal(await jwtGrant(app, await sign(claimsFor(app, change), key.privateKey, { kid: keyId })), 'invalid_grant', label, description);
    }
    // Within the allowed clock skew both ways, as Box's SDKs sign 30 s ahead by their own clock.
    expect((await jwtGrant(app, await sign(claimsFor(app, { exp: now - 5 }), key.privateKey, { kid: keyId }))).status).toBe(200);
    expect((await jwtGrant(app, await sign(claimsFor(app, { exp: now + 65 }), key.privateKey, { kid: keyId }))).status).toBe(200);
  });

  it('refuses another key\'s signature, an unknown kid, and every algorithm but RS256/384/512 (none, HS256, ES256, PS256)', async () => {
    const stranger = rsaKeyPair();
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app), stranger.privateKey, { kid: keyId })), 'invalid_grant', 'wrong key', /Signature verification/);
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app), key.privateKey, { kid: 'nope' })), 'invalid_grant', 'unknown kid', /'kid'/);
    const unsecured = new UnsecuredJWT(claimsFor(app) as Record<string, never>).encode();
    expectRefusal(await jwtGrant(app, unsecured), 'invalid_grant', 'alg none');
    const hmac = await new SignJWT(claimsFor(app) as Record<string, never>).setProtectedHeader({ alg: 'HS256', kid: keyId })
      .sign(new TextEncoder().encode(app.clientSecret));
    expectRefusal(await jwtGrant(app, hmac), 'invalid_grant', 'HS256 keyed with the secret', /'alg'/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app), ec, { alg: 'ES256', kid: keyId })), 'invalid_grant', 'ES256', /'alg'/);
    expectRefusal(await jwtGrant(app, await sign(claimsFor(app), key.privateKey, { alg: 'PS256', kid: keyId })), 'invalid_grant', 'PS256', /'alg'/);
    expectRefusal(await jwtGrant(app, 'not.a.jwt'), 'invalid_grant', 'garbage');
  });

  it('hostile assertions and bodies get a 4xx answer, never a 500 or a hang', async () => {
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const forged = [
      `${b64({ alg: 'RS256', kid: keyId, crit: ['exp'] })}.${b64(claimsFor(app))}.${b64('x')}`,
      `${b64({ alg: 'RS256', kid: { toString: 1 } })}.${b64(claimsFor(app))}.${b64('x')}`,
      `${b64('[]')}.${b64('[]')}.`,
      `${b64({ alg: 'RS256' })}.${b64('not json')}.${b64('x')}`,
      '.'.repeat(5000),
      'x'.repeat(12_000),
    ];
    for (const assertion of forged) expectRefusal(await jwtGrant(app, assertion), 'invalid_grant', assertion.slice(0, 40));
    const huge = await requestToken({ grant_type: JWT_BEARER, assertion: 'x'.repeat(64 * 1024), client_id: app.clientId, client_secret: app.clientSecret });
    expect(huge.status).toBe(413);
    const mangled = await call('POST', `${server.url}/oauth2/token`, {
      token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=%zz&assertion=%E0%A4%A',
    });
    expect(mangled.status).toBe(400);
  });

  it('asks for the app\'s client id and secret beside the assertion, as Box does', async () => {
    const assertion = () => sign(claimsFor(app), key.privateKey, { kid: keyId });
    expectRefusal(await jwtGrant(app, await assertion(), { client_secret: 'x'.repeat(32) }), 'invalid_client', 'wrong secret');
    expectRefusal(await requestToken({ grant_type: JWT_BEARER, assertion: await assertion(), client_id: app.clientId }), 'invalid_client', 'no secret');
    const other = await createApp('other-jwt-robot');
    expectRefusal(await jwtGrant(other, await assertion()), 'invalid_grant', 'another app\'s credentials', /'iss'|key/);
    expectRefusal(await requestToken({ grant_type: JWT_BEARER, client_id: app.clientId, client_secret: app.clientSecret }), 'invalid_request', 'no assertion');
  });

  it('revoking an app refuses its assertions and ends every token it was given at once, whatever the grant', async () => {
    const doomed = await createApp('doomed-jwt-robot');
    const doomedKey = rsaKeyPair();
    const doomedKeyId = await addKey(doomed.clientId, doomedKey.publicPem);
    const viaJwt = await jwtGrant(doomed, await sign(claimsFor(doomed), doomedKey.privateKey, { kid: doomedKeyId }));
    const viaCcg = await requestToken({
      grant_type: 'client_credentials', client_id: doomed.clientId, client_secret: doomed.clientSecret, box_subject_type: 'enterprise', box_subject_id: '0',
    });
    const untouched = await jwtGrant(app, await sign(claimsFor(app), key.privateKey, { kid: keyId }));
    const tokens = [viaJwt.json.access_token as string, viaCcg.json.access_token as string];
    for (const token of tokens) expect((await call('GET', `${server.api}/users/me`, { token })).status).toBe(200);
    await cli(['app', 'revoke', doomed.clientId]);
    const unknown = await call('GET', `${server.api}/users/me`, { token: `pw_0123456789abcdef_${'A'.repeat(43)}` });
    for (const token of tokens) {
      const reply = await call('GET', `${server.api}/users/me`, { token });
      expect(reply.status).toBe(401);
      expect({ ...reply.json, request_id: '' }).toEqual({ ...unknown.json, request_id: '' });
    }
    expect((await call('GET', `${server.api}/users/me`, { token: untouched.json.access_token })).status).toBe(200);
    expectRefusal(await jwtGrant(doomed, await sign(claimsFor(doomed), doomedKey.privateKey, { kid: doomedKeyId })), 'invalid_client', 'revoked app');
    const { stdout } = await cli(['token', 'list', '--user', 'doomed-jwt-robot']);
    expect(stdout.trim().split('\n').every((line) => /\trevoked \S+$/.test(line))).toBe(true);
  });

  it('the janitor deletes access tokens a day after they expired, and keeps the rest', async () => {
    const fresh = await jwtGrant(app, await sign(claimsFor(app), key.privateKey, { kid: keyId }));
    const freshId = /^pw_([0-9a-f]{16})_/.exec(fresh.json.access_token)![1]!;
    const listed = async () => (await cli(['token', 'list', '--user', 'jwt-robot'])).stdout;
    expect(await listed()).toContain(freshId);
    // Expired for a day less ten minutes: still listed.
    clock.advance(3600_000 + 24 * 3600_000 - 600_000);
    await server.partway.janitor.sweep();
    expect(await listed()).toContain(freshId);
    clock.advance(1200_000);
    await server.partway.janitor.sweep();
    expect(await listed()).toBe('');
    expect((await cli(['token', 'list', '--user', 'alice'])).stdout).toMatch(/\talice\tcreated \S+\tactive$/m);
  });

  it('neither the client secret, an assertion nor an access token\'s secret reaches the logs (at trace level) or the database', async () => {
    const assertion = await sign(claimsFor(app), key.privateKey, { kid: keyId });
    const { json } = await jwtGrant(app, assertion);
    const tokenSecret = /^pw_[0-9a-f]{16}_(.+)$/.exec(json.access_token)![1]!;
    const signature = assertion.split('.')[2]!;
    await call('GET', `${server.api}/users/me`, { token: json.access_token });
    expect(logLines.length).toBeGreaterThan(0);
    const logs = logLines.join('\n');
    expect(logs).toContain('/oauth2/token');
    for (const secret of [app.clientSecret, signature, tokenSecret]) expect(logs).not.toContain(secret);
    const files = (await readdir(server.dataDir, { recursive: true })).map((name) => join(server.dataDir, String(name)));
    const databaseFiles = files.filter((name) => /\.(db|sqlite)(-wal|-shm)?$/.test(name) || /metadata/.test(name));
    expect(databaseFiles.length).toBeGreaterThan(0);
    for (const file of databaseFiles) {
      const bytes = await readFile(file).catch(() => Buffer.alloc(0));
      for (const secret of [app.clientSecret, signature, tokenSecret]) expect(bytes.includes(secret), file).toBe(false);
    }
  });
});

describe('POST /oauth2/token is rate limited per client address, across its paths', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ rateLimit: '4' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 429 with Retry-After once an address made more token requests in a minute than the limit', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'z'.repeat(32), client_secret: 'guess', box_subject_type: 'enterprise' });
    const statuses: number[] = [];
    let last: Reply | undefined;
    for (const path of ['/oauth2/token', '/2.0/oauth2/token', '/api/2.0/oauth2/token', '/oauth2/token', '/2.0/oauth2/token', '/oauth2/token']) {
      last = await call('POST', `${server.url}${path}`, { token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // The API's own budget is separate: a good token still works.
    expect((await call('GET', `${server.api}/users/me`, { token: server.token })).status).toBe(200);
  });
});

describe('a `partway serve` process logging at its most verbose level (trace)', () => {
  it('never logs a client secret, an assertion or an access token, whichever grant and whatever is refused', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'partway-oauth-log-'));
    const env = { PARTWAY_DATA_DIR: dataDir };
    const server = await spawnServer({ ...env, PARTWAY_LOG_LEVEL: 'trace' });
    try {
      const { stdout } = await runCli(['app', 'create', '--user', 'logged-robot'], env);
      const fields = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('\t') as [string, string]));
      const app: CreatedApp = { clientId: fields.client_id!, clientSecret: fields.client_secret!, userId: fields.user_id! };
      const pair = rsaKeyPair();
      await writeFile(join(dataDir, 'key.pem'), pair.publicPem);
      const kid = (await runCli(['app', 'add-key', '--app', app.clientId, '--public-key', join(dataDir, 'key.pem')], env)).stdout.trim();
      const post = (form: Record<string, string>) => call('POST', `${server.url}/oauth2/token`, {
        token: null, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
      });
      // This server reads the real clock, not the one the tests above moved on.
      const realNow = Math.floor(Date.now() / 1000);
      const assertion = await sign(claimsFor(app, { exp: realNow + 30, iat: realNow }), pair.privateKey, { kid });
      const jwt = await post({ grant_type: JWT_BEARER, assertion, client_id: app.clientId, client_secret: app.clientSecret });
      expect(jwt.status).toBe(200);
      expect((await post({ grant_type: JWT_BEARER, assertion, client_id: app.clientId, client_secret: app.clientSecret })).status).toBe(400);
      const ccg = await post({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, box_subject_type: 'enterprise' });
      const wrongSecret = `${app.clientSecret.slice(0, -1)}${app.clientSecret.endsWith('a') ? 'b' : 'a'}`;
      expect((await post({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: wrongSecret, box_subject_type: 'enterprise' })).status).toBe(400);
      const tokens = [jwt.json.access_token as string, ccg.json.access_token as string];
      for (const token of tokens) expect((await call('GET', `${server.url}/2.0/users/me`, { token })).status).toBe(200);
      expect((await call('GET', `${server.url}/2.0/users/me`, { token: `${tokens[0]!.slice(0, -1)}${tokens[0]!.endsWith('x') ? 'y' : 'x'}` })).status).toBe(401);

      const logs = server.output();
      // Each request is logged (its URL, not its body or Authorization header).
      expect(logs.match(/"url":"\/oauth2\/token"/g)?.length).toBeGreaterThanOrEqual(4);
      const secrets = [app.clientSecret, wrongSecret, assertion.split('.')[2]!, assertion, ...tokens.map((token) => /^pw_[0-9a-f]{16}_(.+)$/.exec(token)![1]!)];
      for (const secret of secrets) expect(logs).not.toContain(secret);
    } finally {
      server.child.kill('SIGTERM');
      await waitForExit(server.child);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
