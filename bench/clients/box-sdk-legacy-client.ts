/**
 * box-node-sdk v3 (box-node-sdk-legacy), unchanged: `client.files.getChunkedUploader(...).start()` of
 * one file with its default options (4 parts in flight), its API roots pointed at Partway as
 * test/interop/ does. Each part carries its SHA-1 in `Digest`; the commit carries the whole file's.
 * Prints {ms: create→commit, cpuSeconds: this process's CPU in that time, ...} as JSON.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import BoxSDK from 'box-node-sdk-legacy';
import { args, fail, finish, now, required } from './common.js';

interface Uploader {
  on(event: string, listener: (value: unknown) => void): void;
  start(): Promise<{ entries: Array<{ id: string; sha1: string; size: number }> }>;
}

try {
  const options = args();
  const server = required(options, 'server');
  const file = required(options, 'file');
  const { size } = await stat(file);
  const sdk = new BoxSDK({
    clientID: 'partway-bench', clientSecret: 'not-used-with-a-developer-token', apiRootURL: server, uploadAPIRootURL: `${server}/api`,
    // Its default agent is https.Agent, which refuses http:// URLs.
    request: { agentClass: http.Agent, agentOptions: { keepAlive: true }, strictSSL: false },
  } as unknown as ConstructorParameters<typeof BoxSDK>[0]);
  const client = sdk.getBasicClient(required(options, 'token'));
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const uploader = await client.files.getChunkedUploader('0', size, required(options, 'name'), createReadStream(file)) as unknown as Uploader;
  const committed = await new Promise<Awaited<ReturnType<Uploader['start']>>>((resolve, reject) => {
    // A failed part only emits `chunkError`; the upload would then never finish.
    uploader.on('chunkError', (error) => reject(new Error(`a part failed: ${String((error as Error)?.message ?? error)}`)));
    uploader.on('error', (event) => reject((event as { error?: unknown })?.error ?? event));
    uploader.start().then(resolve, reject);
  });
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const uploaded = committed.entries[0]!;
  finish({ ms, cpuSeconds: (cpu.user + cpu.system) / 1e6, bytes: size, fileId: uploaded.id, serverSha1: uploaded.sha1 });
} catch (error) {
  fail(error);
}
