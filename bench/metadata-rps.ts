/**
 * 5. Metadata reads under load (autocannon, in the orchestrator process; the server in its own):
 * `GET /api/2.0/files/upload_sessions/{id}` and `GET .../parts` with the bearer token, on a session
 * holding a few parts. A short warm-up run comes first and is not counted.
 */
import { createHash, randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { request } from 'undici';
import { type BenchContext } from './lib/context.js';
import { startPartway } from './lib/partway-server.js';
import { RssSampler } from './rss.js';

export interface RpsResult {
  route: string;
  requestsPerSecondMean: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  connections: number;
  seconds: number;
}

export interface MetadataRpsResult {
  partsInSession: number;
  session: RpsResult;
  listParts: RpsResult;
  serverPeakRssMiB: number;
}

async function json(url: string, init: { method: 'GET' | 'POST' | 'PUT'; headers: Record<string, string>; body?: Buffer | string }) {
  const response = await request(url, init);
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${init.method} ${url}: ${response.statusCode} ${text}`);
  return JSON.parse(text);
}

async function load(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, headers, connections, duration: seconds, pipelining: 1 });
}

export async function runMetadataRps(context: BenchContext, options: { seconds: number; connections: number; parts: number }): Promise<MetadataRpsResult> {
  const server = await startPartway(context.tmpDir, { name: 'rps' });
  try {
    const auth = { authorization: `Bearer ${server.token}` };
    const partSize = context.partSize;
    const fileSize = Math.max(options.parts * partSize, 1024 * 1024 * 1024);
    const session = await json(`${server.url}/api/2.0/files/upload_sessions`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_size: fileSize, file_name: 'rps.bin' }),
    });
    const bytes = randomBytes(partSize);
    for (let index = 0; index < options.parts; index++) {
      bytes.writeUInt32BE(index, 0);
      const offset = index * partSize;
      await json(session.session_endpoints.upload_part, {
        method: 'PUT', body: bytes, headers: {
          ...auth, 'content-type': 'application/octet-stream', digest: `sha=${createHash('sha1').update(bytes).digest('base64')}`,
          'content-range': `bytes ${offset}-${offset + partSize - 1}/${fileSize}`,
        },
      });
    }
    const sessionUrl = `${server.url}/api/2.0/files/upload_sessions/${session.id}`;
    const partsUrl = `${sessionUrl}/parts`;
    const listed = await json(partsUrl, { method: 'GET', headers: auth });
    if (listed.total_count !== options.parts) throw new Error(`list parts answered ${listed.total_count} parts, not ${options.parts}`);

    const sampler = new RssSampler(server.pid, 100);
    const measure = async (route: string, url: string): Promise<RpsResult> => {
      context.log(`  autocannon ${route}: warm-up 2 s, then ${options.seconds} s with ${options.connections} connections`);
      await load(url, auth, options.connections, 2);
      const result = await load(url, auth, options.connections, options.seconds);
      return {
        route, requestsPerSecondMean: result.requests.average, latencyP50Ms: result.latency.p50, latencyP99Ms: result.latency.p99,
        requests: result.requests.total, non2xx: result.non2xx, errors: result.errors, connections: options.connections, seconds: options.seconds,
      };
    };
    const sessionResult = await measure('GET /api/2.0/files/upload_sessions/{id}', sessionUrl);
    const partsResult = await measure('GET /api/2.0/files/upload_sessions/{id}/parts', partsUrl);
    return { partsInSession: options.parts, session: sessionResult, listParts: partsResult, serverPeakRssMiB: sampler.stop().peakMiB };
  } finally {
    await server.close();
  }
}
