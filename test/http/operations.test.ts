import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, partRequest, randomData, startServer, type TestServer } from '../helpers/partway.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ basePartSize: '65536', minChunkedSize: '100000' });
});
afterAll(() => server.close());

describe('operations endpoints', () => {
  it('answers /healthz and /readyz without a token', async () => {
    expect((await call('GET', `${server.url}/healthz`, { token: null })).json).toEqual({ status: 'ok' });
    expect((await call('GET', `${server.url}/readyz`, { token: null })).json).toEqual({ status: 'ok', database: 'ok', storage: 'ok' });
  });

  it('exports Prometheus metrics: requests by route and status, bytes, part latency, open sessions, commits and error codes', async () => {
    const data = randomData(200_000);
    const created = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, json: { folder_id: '0', file_size: data.length, file_name: 'metered.bin' } });
    expect((await call('PUT', `${server.upload}/files/upload_sessions/${created.json.id}`, partRequest(data, 0, 65536, server.token))).status).toBe(200);
    await call('GET', `${server.api}/files/999999`, { token: server.token });
    await call('POST', `${server.upload}/files/upload_sessions/${created.json.id}/commit`, { token: server.token, headers: { digest: 'sha=AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, json: { parts: [] } });

    const metrics = (await call('GET', `${server.url}/metrics`, { token: null })).text;
    expect(metrics).toMatch(/partway_http_requests_total\{route="\/api\/2\.0\/files\/upload_sessions\/:id",method="PUT",status="200"\} 1/);
    expect(metrics).toMatch(/partway_bytes_received_total 65536/);
    expect(metrics).toMatch(/partway_part_upload_seconds_count\{status="200"\} 1/);
    expect(metrics).toMatch(/partway_upload_sessions_open 1/);
    expect(metrics).toMatch(/partway_commits_total\{status="400"\} 1/);
    expect(metrics).toMatch(/partway_errors_total\{code="not_found"\} 1/);
    expect(metrics).toMatch(/partway_errors_total\{code="parts_mismatch"\} 1/);
    expect(metrics).toMatch(/partway_process_resident_memory_bytes \d+/);
  });

  it('reports not ready, with 503, when the storage is gone', async () => {
    const broken = await startServer();
    try {
      await rm(join(broken.dataDir, 'blobs'), { recursive: true, force: true });
      const reply = await call('GET', `${broken.url}/readyz`, { token: null });
      expect(reply.status).toBe(503);
      expect(reply.json).toMatchObject({ status: 'unavailable', database: 'ok' });
      expect(reply.json.storage).not.toBe('ok');
    } finally {
      await broken.close();
    }
  });
});
