/**
 * Uploads one file to Partway with Partway's own client library (the same code as `partway upload`):
 * create the session, send parts with 4 in flight (each with its SHA-1, checked against the server's
 * answer), commit with the whole-file SHA-1 and check the committed file's SHA-1 and size.
 * Prints {ms: create→commit, ...} as JSON.
 */
import { PartwayClient } from '../../dist/client/index.js';
import { args, fail, finish, now, required } from './common.js';

const options = args();
const client = new PartwayClient({ server: required(options, 'server'), token: required(options, 'token'), userAgent: 'partway-bench' });
const file = required(options, 'file');
const concurrency = Number(options.parallel ?? '4');

try {
  const t0 = now();
  let tSession = Number.NaN;
  let tParts = Number.NaN;
  const result = await client.upload(file, {
    name: options.name, concurrency,
    onState: () => {
      tSession = now();
    },
    onProgress: (progress) => {
      if (progress.partsDone === progress.totalParts) tParts = now();
    },
  });
  const t1 = now();
  await client.close();
  finish({
    ms: t1 - t0, createMs: tSession - t0, partsMs: tParts - tSession, commitMs: t1 - tParts,
    bytes: result.size, sha1: result.sha1, serverSha1: result.file.sha1, fileId: result.file.id, partsSent: result.partsSent,
  });
} catch (error) {
  fail(error);
}
