/**
 * box-node-sdk v10, unchanged: `client.chunkedUploads.uploadBigFile` of one file, its base URLs
 * pointed at Partway as test/interop/ does. It sends one part at a time, each with its SHA-1 in
 * `Digest`, checks each part the server answers (SHA-1, size, offset), lists the parts, and commits
 * with the whole file's SHA-1. Prints {ms: create→commit, cpuSeconds: this process's CPU in that
 * time, ...} as JSON.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { BoxClient, BoxDeveloperTokenAuth } from 'box-node-sdk';
import { args, fail, finish, now, required } from './common.js';

try {
  const options = args();
  const server = required(options, 'server');
  const file = required(options, 'file');
  const { size } = await stat(file);
  const client = new BoxClient({ auth: new BoxDeveloperTokenAuth({ token: required(options, 'token') }) })
    .withCustomBaseUrls({ baseUrl: server, uploadUrl: `${server}/api`, oauth2Url: `${server}/oauth2` });
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const uploaded = await client.chunkedUploads.uploadBigFile(createReadStream(file), required(options, 'name'), size, '0');
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  finish({ ms, cpuSeconds: (cpu.user + cpu.system) / 1e6, bytes: size, fileId: uploaded.id, serverSha1: uploaded.sha1 });
} catch (error) {
  fail(error);
}
