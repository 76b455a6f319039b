import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPartway } from '../../src/server.js';
import { call, partRequest, randomData, sha1Base64, startServer } from '../helpers/partway.js';

describe('repair after a crash', () => {
  it('removes, on start, part attempts never recorded and uploads nothing refers to, and keeps everything recorded', async () => {
    const server = await startServer({ basePartSize: '65536', minChunkedSize: '1000' });
    const data = randomData(200_000);
    const url = (id: string) => `${server.upload}/files/upload_sessions/${id}`;
    const active = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, json: { folder_id: '0', file_size: data.length, file_name: 'active.bin' } });
    expect((await call('PUT', url(active.json.id), partRequest(data, 0, 65536, server.token))).status).toBe(200);
    const done = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, json: { folder_id: '0', file_size: data.length, file_name: 'done.bin' } });
    const parts = [];
    for (let offset = 0; offset < data.length; offset += 65536) {
      parts.push((await call('PUT', url(done.json.id), partRequest(data, offset, Math.min(65536, data.length - offset), server.token))).json.part);
    }
    expect((await call('POST', `${url(done.json.id)}/commit`, { token: server.token, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts } })).status).toBe(201);
    const { dataDir, partway } = server;
    const uploadsDir = join(dataDir, 'blobs', 'uploads');
    const refOf = async (id: string) => (await partway.stores.metadata.getSession(id))!.uploadRef;
    const activeRef = await refOf(active.json.id);
    const doneRef = await refOf(done.json.id);
    await partway.close();

    // What a crash leaves: attempts written but never recorded, a half-written manifest, an upload
    // directory whose session was never created.
    await writeFile(join(uploadsDir, activeRef, '2.aaaaaaaaaaaa.part'), 'never recorded');
    await writeFile(join(uploadsDir, doneRef, '1.bbbbbbbbbbbb.part'), 'lost a race, then the crash');
    await writeFile(join(uploadsDir, doneRef, 'manifest.json.0123abcd.tmp'), '{"parts":');
    const orphan = 'c'.repeat(32);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(uploadsDir, orphan)));
    await writeFile(join(uploadsDir, orphan, '1.dddddddddddd.part'), 'a session that never was');

    const restarted = await createPartway(loadConfig({ port: '0', dataDir, logLevel: 'silent', basePartSize: '65536', minChunkedSize: '1000' }, {}), false);
    try {
      await restarted.listen();
      expect((await readdir(uploadsDir)).sort()).toEqual([activeRef, doneRef].sort());
      expect(await readdir(join(uploadsDir, activeRef))).toHaveLength(1);
      const kept = await readdir(join(uploadsDir, doneRef));
      expect(kept).toContain('manifest.json');
      expect(kept.filter((file) => file.endsWith('.part'))).toHaveLength(parts.length);
      expect(kept.some((file) => file.includes('bbbbbbbbbbbb') || file.endsWith('.tmp'))).toBe(false);
      const again = await restarted.janitor.repair();
      expect(again).toEqual({ uploadsRemoved: 0, partsRemoved: 0 });
    } finally {
      await restarted.close();
      await import('node:fs/promises').then((fs) => fs.rm(dataDir, { recursive: true, force: true }));
    }
  });
});
