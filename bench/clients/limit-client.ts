/**
 * The limit's client: reads the file once, front to back, one 8 MiB part at a time into one of
 * 5 reused buffers; SHA-1s each part and the whole file (two hashes per byte); sends the parts over
 * loopback HTTP (undici) with 4 in flight; commits with the whole-file SHA-1.
 * Prints {ms: create→commit, ...}.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { args, fail, finish, now, required } from './common.js';

const options = args();
const base = required(options, 'server');
const path = required(options, 'file');
const partSize = Number(required(options, 'part-size'));
const concurrency = Number(options.parallel ?? '4');
const dispatcher = new Agent({ connections: 16, keepAliveTimeout: 30_000 });

async function call(method: 'POST' | 'PUT', url: string, headers: Record<string, string>, body?: Buffer): Promise<string> {
  const response = await request(url, { method, headers, body, dispatcher });
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${text}`);
  return text;
}

try {
  const size = (await stat(path)).size;
  const file = await open(path, 'r');
  const t0 = now();
  await call('POST', `${base}/create?size=${size}`, {});
  const whole = createHash('sha1');
  const inFlight = new Set<Promise<void>>();
  // concurrency + 1 part buffers, reused: a part's buffer is free again once its PUT is answered.
  const free = Array.from({ length: concurrency + 1 }, () => Buffer.allocUnsafe(partSize));
  let failure: unknown;
  for (let offset = 0; offset < size && failure === undefined; offset += partSize) {
    const length = Math.min(partSize, size - offset);
    while (free.length === 0) await Promise.race(inFlight);
    const buffer = free.pop()!;
    const bytes = buffer.subarray(0, length);
    for (let filled = 0; filled < length;) {
      const { bytesRead } = await file.read(bytes, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new Error('short read');
      filled += bytesRead;
    }
    whole.update(bytes);
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const sending: Promise<void> = call('PUT', `${base}/part?offset=${offset}`, { 'x-sha1': sha1, 'content-type': 'application/octet-stream' }, bytes)
      .then(() => undefined, (error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        inFlight.delete(sending);
        free.push(buffer);
      });
    inFlight.add(sending);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  const sha1 = whole.digest('hex');
  await call('POST', `${base}/commit`, { 'x-sha1': sha1 });
  const t1 = now();
  await file.close();
  await dispatcher.close();
  finish({ ms: t1 - t0, bytes: size, sha1 });
} catch (error) {
  fail(error);
}
