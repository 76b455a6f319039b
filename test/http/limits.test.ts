import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { call, startServer } from '../helpers/partway.js';

describe('limits', () => {
  it('answers 429 rate_limit_exceeded with a Title-Case Retry-After once a token passes its requests per minute', async () => {
    const server = await startServer({ rateLimit: '5' });
    try {
      const statuses = [];
      for (let index = 0; index < 5; index++) statuses.push((await call('GET', `${server.api}/users/me`, { token: server.token })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      const limited = await call('GET', `${server.api}/users/me`, { token: server.token });
      expect(limited.status).toBe(429);
      expect(limited.json).toMatchObject({ type: 'error', status: 429, code: 'rate_limit_exceeded' });
      const rawHeaders = await new Promise<string[]>((resolve, reject) => {
        httpRequest(`${server.api}/users/me`, { headers: { authorization: `Bearer ${server.token}` } }, (res) => {
          res.resume();
          resolve(res.rawHeaders);
        }).on('error', reject).end();
      });
      const retryAfter = rawHeaders[rawHeaders.indexOf('Retry-After') + 1];
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      // Another token has its own budget.
      expect((await call('GET', `${server.api}/users/me`, { token: await server.tokenFor('bob') })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('refuses a session past the open sessions a user may have, and takes one again after an abort', async () => {
    const server = await startServer({ basePartSize: '65536', minChunkedSize: '100000', maxOpenSessions: '2' });
    try {
      const create = (name: string) => call('POST', `${server.upload}/files/upload_sessions`, {
        token: server.token, json: { folder_id: '0', file_size: 200_000, file_name: name },
      });
      const first = await create('a');
      expect((await create('b')).status).toBe(201);
      const third = await create('c');
      expect(third.status).toBe(403);
      expect(third.json.code).toBe('upload_session_limit_exceeded');
      expect((await call('DELETE', `${server.upload}/files/upload_sessions/${first.json.id}`, { token: server.token })).status).toBe(204);
      expect((await create('c')).status).toBe(201);
    } finally {
      await server.close();
    }
  });

  it('answers 413 to a JSON body over the limit and 403 file_size_limit_exceeded to a file over the maximum size', async () => {
    const server = await startServer({ jsonBodyLimit: '2048', maxFileSize: '1000000', minChunkedSize: '1000' });
    try {
      const big = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'x'.repeat(5000), parent: { id: '0' } } });
      expect(big.status).toBe(413);
      expect(big.json.code).toBe('request_entity_too_large');
      const huge = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, json: { folder_id: '0', file_size: 1_000_001, file_name: 'huge' } });
      expect(huge.status).toBe(403);
      expect(huge.json.code).toBe('file_size_limit_exceeded');
    } finally {
      await server.close();
    }
  });
});
