/**
 * Commit latency: uploads a generated file of --size bytes to Partway over its wire API (undici):
 * create the session, PUT every part in order with 4 in flight (Content-Range, Digest: sha=), then
 * times `POST .../commit` alone (Digest: sha=<whole-file SHA-1>, body {parts}). The content is made
 * on the fly (see GeneratedContent) and hashed as it is sent, so nothing big is held in memory.
 * Prints {commitMs, uploadMs, ...}.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { GeneratedContent } from '../lib/data.js';
import { args, fail, finish, now, required } from './common.js';

interface Part { part_id: string; offset: number; size: number; sha1: string }

const options = args();
const server = required(options, 'server');
const token = required(options, 'token');
const size = Number(required(options, 'size'));
const concurrency = Number(options.parallel ?? '4');
const dispatcher = new Agent({ connections: 16, keepAliveTimeout: 30_000, bodyTimeout: 0, headersTimeout: 0 });
const auth = { authorization: `Bearer ${token}` };

async function call(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, body?: Buffer | string) {
  const response = await request(url, { method, headers: { ...auth, ...headers }, body, dispatcher });
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${text}`);
  return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

try {
  const content = new GeneratedContent(size);
  const t0 = now();
  const session = (await call('POST', `${server}/api/2.0/files/upload_sessions`, { 'content-type': 'application/json' },
    JSON.stringify({ folder_id: '0', file_size: size, file_name: `commit-${size}-${Date.now()}.bin` }))).json;
  const partSize: number = session.part_size;
  const whole = createHash('sha1');
  const parts: Part[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  for (let index = 0, offset = 0; offset < size && failure === undefined; index++, offset += partSize) {
    const length = Math.min(partSize, size - offset);
    const bytes = content.part(index, offset, length);
    whole.update(bytes);
    const sha1 = createHash('sha1').update(bytes).digest('base64');
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const sending: Promise<void> = call('PUT', session.session_endpoints.upload_part, {
      'content-type': 'application/octet-stream', digest: `sha=${sha1}`,
      'content-range': `bytes ${offset}-${offset + length - 1}/${size}`,
    }, bytes).then((reply) => {
      parts.push(reply.json.part);
    }, (error: unknown) => {
      failure ??= error;
    }).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  const t1 = now();
  parts.sort((a, b) => a.offset - b.offset);
  const digest = whole.digest();
  const body = JSON.stringify({ parts });
  let retries202 = 0;
  const tc0 = now();
  let committed;
  for (;;) {
    committed = await call('POST', session.session_endpoints.commit, { 'content-type': 'application/json', digest: `sha=${digest.toString('base64')}` }, body);
    if (committed.status !== 202) break;
    retries202++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tc1 = now();
  const file = committed.json.entries[0];
  if (file.sha1 !== digest.toString('hex') || file.size !== size) throw new Error(`Committed ${JSON.stringify(file)}, expected ${digest.toString('hex')}`);
  await dispatcher.close();
  finish({
    commitMs: tc1 - tc0, commitStatus: committed.status, retries202, uploadMs: t1 - t0, bytes: size, parts: parts.length,
    partSize, sha1: file.sha1,
  });
} catch (error) {
  fail(error);
}
