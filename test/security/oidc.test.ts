import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type Reply, type TestServer } from '../helpers/partway.js';
import { expectBoxError } from '../helpers/security.js';

/**
 * Tokens of the organisation's identity provider: a local OpenID Connect issuer (discovery and JWKS
 * over loopback, keys made by jose) and a real Partway that trusts it. A valid token works and creates
 * its user; every kind of bad token gets the same 401 as an unknown Partway token; a rotated key is
 * picked up; an issuer that is down at start is tolerated; the token shows up in neither logs nor database.
 */

const AUDIENCE = 'partway';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string, alg: SigningKey['alg'] = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** An OpenID Connect issuer on 127.0.0.1: its discovery document, and its key set, which a test may change. */
class LocalIssuer {
  readonly #server: Server;
  url = '';
  published: SigningKey[] = [];
  /** While true, every request gets a 503 (the IdP is down). */
  down = false;
  keySetFetches = 0;

  constructor() {
    this.#server = createServer((request, response) => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (this.down) return send(503, { error: 'down' });
      if (request.url === '/.well-known/openid-configuration') return send(200, { issuer: this.url, jwks_uri: `${this.url}/keys` });
      if (request.url === '/keys') {
        this.keySetFetches++;
        return send(200, { keys: this.published.map((key) => key.jwk) });
      }
      return send(404, { error: 'not found' });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async sign(key: SigningKey, claims: JWTPayload = {}, options: { issuer?: string; audience?: string; expiresIn?: string | number } = {}): Promise<string> {
    return new SignJWT({ name: 'Ada Lovelace', ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.url).setAudience(options.audience ?? AUDIENCE)
      .setSubject(typeof claims.sub === 'string' ? claims.sub : 'ada').setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '10m')
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The 401 a bearer token nobody issued gets today; every refused IdP token must get the same, apart from its request id. */
const UNKNOWN_PARTWAY_TOKEN = `pw_${'0'.repeat(16)}_${'A'.repeat(43)}`;
let today: Reply;

function expectUnauthorized(reply: Reply, label: string): void {
  expectBoxError({ ...reply, bytes: Buffer.from(reply.text) }, { status: 401, code: 'unauthorized' }, label);
  expect({ ...reply.json, request_id: '' }, label).toEqual({ ...today.json, request_id: '' });
  expect(reply.headers['www-authenticate'], label).toEqual(today.headers['www-authenticate']);
}

/** Everything the server logged, one JSON line each. */
function logCollector(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'trace' }, { write: (line: string) => { lines.push(line); } }) as Logger };
}

describe('tokens from an OpenID Connect provider', () => {
  let issuer: LocalIssuer;
  let server: TestServer;
  let key: SigningKey;
  let logs: ReturnType<typeof logCollector>;
  const presented: string[] = [];

  const me = (token: string) => call('GET', `${server.api}/users/me`, { token });
  const signed = async (...args: Parameters<LocalIssuer['sign']>) => {
    const token = await issuer.sign(...args);
    presented.push(token);
    return token;
  };

  beforeAll(async () => {
    issuer = await new LocalIssuer().start();
    key = await makeKey('first');
    issuer.published = [key];
    logs = logCollector();
    // No cooldown between key set fetches, so that a rotation is seen at once rather than in half a minute.
    server = await startServer({ oidcIssuer: issuer.url, oidcAudience: AUDIENCE }, { tuning: { oidcKeysCooldownMs: 0 }, logger: logs.logger });
    today = await me(UNKNOWN_PARTWAY_TOKEN);
  });

  afterAll(async () => {
    await server?.close();
    await issuer?.close();
  });

  it('accepts a valid token and creates its user on first use, with its display name', async () => {
    const reply = await me(await signed(key, { sub: 'ada' }));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ type: 'user', name: 'Ada Lovelace', login: `ada@${issuer.url}` });
    const again = await me(await signed(key, { sub: 'ada', name: 'Another Name' }));
    expect(again.json).toMatchObject({ id: reply.json.id, name: 'Ada Lovelace' });
  });

  it('takes the display name from preferred_username when the token has no name', async () => {
    const token = await new SignJWT({ preferred_username: 'grace.h' }).setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setIssuer(issuer.url).setAudience(AUDIENCE).setSubject('grace').setExpirationTime('5m').sign(key.privateKey);
    presented.push(token);
    expect((await me(token)).json).toMatchObject({ name: 'grace.h', login: `grace@${issuer.url}` });
  });

  it('still accepts Partway\'s own tokens', async () => {
    expect((await me(server.token)).json).toMatchObject({ login: 'alice' });
  });

  it('gives every bad token the same 401 as an unknown Partway token', async () => {
    const stranger = await makeKey('stranger');
    const stolenKid = await makeKey('first');
    const valid = await signed(key);
    const [header, payload, signature] = valid.split('.');
    const claims = { iss: issuer.url, aud: AUDIENCE, sub: 'ada', exp: nowSeconds() + 600 };
    const publicPem = new TextEncoder().encode(await exportSPKI(key.publicKey));
    const cases: Record<string, string> = {
      'wrong issuer': await signed(key, {}, { issuer: 'http://127.0.0.1:1/someone-else' }),
      'wrong audience': await signed(key, {}, { audience: 'another-app' }),
      'expired': await signed(key, {}, { expiresIn: nowSeconds() - 120 }),
      'not yet valid': await new SignJWT({ sub: 'ada' }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(issuer.url)
        .setAudience(AUDIENCE).setNotBefore(nowSeconds() + 120).setExpirationTime('10m').sign(key.privateKey),
      'unknown kid': await signed(stranger),
      'a known kid with a key the issuer never published': await signed(stolenKid),
      'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
      'alg none with a made-up signature': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.${signature}`,
      'HS256 signed with the public key': await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(publicPem),
      'tampered payload': `${header}.${base64url({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'mallory' })}.${signature}`,
      'tampered header': `${base64url({ alg: 'RS384', kid: key.kid })}.${payload}.${signature}`,
      'no exp': await new SignJWT({ sub: 'ada' }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(issuer.url)
        .setAudience(AUDIENCE).sign(key.privateKey),
      'no user claim': await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(issuer.url)
        .setAudience(AUDIENCE).setExpirationTime('10m').sign(key.privateKey),
      'a user claim too long': await signed(key, { sub: 'x'.repeat(300) }),
      'a user claim with a control character': await signed(key, { sub: 'ada\nadmin' }),
      'not a JWT': 'a.b',
    };
    presented.push(...Object.values(cases));
    for (const [label, token] of Object.entries(cases)) expectUnauthorized(await me(token), label);
    expect((await me(valid)).status).toBe(200);
  });

  it('keeps each user\'s items apart', async () => {
    const ada = await signed(key, { sub: 'ada' });
    const eve = await signed(key, { sub: 'eve', name: 'Eve' });
    const folder = await call('POST', `${server.api}/folders`, { token: ada, json: { name: 'ada-only', parent: { id: '0' } } });
    expect(folder.status, folder.text).toBe(201);
    expect(folder.json.created_by).toMatchObject({ name: 'Ada Lovelace', login: `ada@${issuer.url}` });
    const evesRoot = await call('GET', `${server.api}/folders/0/items`, { token: eve });
    expect(evesRoot.status).toBe(200);
    expect(evesRoot.json.total_count).toBe(0);
    expect((await call('GET', `${server.api}/folders/${folder.json.id}`, { token: eve })).status).toBe(404);
    expect((await call('GET', `${server.api}/folders/${folder.json.id}`, { token: ada })).status).toBe(200);
  });

  it('picks up a key rotation at the issuer: the new key\'s tokens work, the withdrawn key\'s do not', async () => {
    const before = await signed(key);
    expect((await me(before)).status).toBe(200);
    const fetches = issuer.keySetFetches;
    const next = await makeKey('second', 'ES256');
    issuer.published = [next];
    expect((await me(await signed(next, { sub: 'ada' }))).json).toMatchObject({ login: `ada@${issuer.url}` });
    expect(issuer.keySetFetches).toBeGreaterThan(fetches);
    expectUnauthorized(await me(before), 'a token of the withdrawn key');
    issuer.published = [key, next];
  });

  it('logs neither the tokens nor their signatures, and stores neither', async () => {
    const secrets = presented.map((token) => token.split('.')[2] ?? token).filter((part) => part.length >= 16);
    expect(secrets.length).toBeGreaterThan(10);
    const logged = logs.lines.join('');
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logged.includes(secret)).toBe(false);
    const files = await readdir(server.dataDir, { recursive: true, withFileTypes: true });
    for (const file of files.filter((entry) => entry.isFile())) {
      const bytes = (await readFile(join(file.parentPath, file.name))).toString('latin1');
      for (const secret of secrets) expect(bytes.includes(secret), file.name).toBe(false);
    }
  });
});

describe('an identity provider that is down when Partway starts', () => {
  it('starts anyway, refuses the IdP\'s tokens with a 401 and a warning, and accepts them once the IdP answers', async () => {
    const issuer = await new LocalIssuer().start();
    const key = await makeKey('k1');
    issuer.published = [key];
    issuer.down = true;
    const logs = logCollector();
    const server = await startServer({ oidcIssuer: issuer.url, oidcAudience: AUDIENCE }, { tuning: { oidcDiscoveryRetryMs: 0 }, logger: logs.logger });
    try {
      today = await call('GET', `${server.api}/users/me`, { token: UNKNOWN_PARTWAY_TOKEN });
      const token = await issuer.sign(key, { sub: 'late' });
      expectUnauthorized(await call('GET', `${server.api}/users/me`, { token }), 'while the IdP is down');
      expect((await call('GET', `${server.api}/users/me`, { token: server.token })).status).toBe(200);
      const warnings = logs.lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40 && /identity provider/.test(entry.msg));
      expect(warnings.length).toBeGreaterThan(0);
      expect(logs.lines.join('')).not.toContain(token.split('.')[2]);
      issuer.down = false;
      const reply = await call('GET', `${server.api}/users/me`, { token });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.json).toMatchObject({ login: `late@${issuer.url}` });
    } finally {
      await server.close();
      await issuer.close();
    }
  });
});

describe('the rate limit with an identity provider', () => {
  it("counts an IdP token by its user: one user's tokens share a budget, another user has their own", async () => {
    const issuer = await new LocalIssuer().start();
    const key = await makeKey('only');
    issuer.published = [key];
    const server = await startServer({ oidcIssuer: issuer.url, oidcAudience: AUDIENCE, rateLimit: '2' });
    try {
      const me = async (sub: string) => (await call('GET', `${server.api}/users/me`, { token: await issuer.sign(key, { sub }) })).status;
      // Each request carries a freshly signed token of the same user.
      expect([await me('ada'), await me('ada'), await me('ada')]).toEqual([200, 200, 429]);
      expect(await me('grace')).toBe(200);
    } finally {
      await server.close();
      await issuer.close();
    }
  });
});
