/**
 * Does a slow webhook receiver slow uploads down? `partway serve` twice on fresh data: once with no
 * webhook, once with a webhook on the root folder whose receiver holds every delivery for
 * BENCH_RECEIVER_DELAY_MS (so the node's delivery slots stay full). Each run times BENCH_UPLOADS
 * simple uploads of 64 KiB, one after another, and reports the latencies and the server's CPU seconds.
 *
 *   npm run build && npx tsx bench/webhook-latency.ts
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPartway, type PartwayServer } from './lib/partway-server.js';

const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 300);
const RECEIVER_DELAY_MS = Number(process.env.BENCH_RECEIVER_DELAY_MS ?? 5000);

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'partway-bench-webhooks-'));
  let received = 0;
  const receiver = createServer((request, response) => {
    request.resume().on('end', () => {
      received++;
      setTimeout(() => response.writeHead(200).end(), RECEIVER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  try {
    for (const withWebhook of [false, true]) {
      const server = await startPartway(tmp, { name: withWebhook ? 'webhook' : 'plain', env: { PARTWAY_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
      try {
        if (withWebhook) {
          const made = await fetch(`${server.url}/2.0/webhooks`, {
            method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ target: { id: '0', type: 'folder' }, address, triggers: ['FILE.UPLOADED'] }),
          });
          if (made.status !== 201) throw new Error(`webhook: ${made.status} ${await made.text()}`);
        }
        const cpuBefore = cpuSeconds(server);
        const latencies = await uploads(server);
        const cpu = cpuSeconds(server) - cpuBefore;
        latencies.sort((a, b) => a - b);
        const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
        console.log(JSON.stringify({
          webhook: withWebhook, uploads: UPLOADS, medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1), serverCpuSeconds: cpu.toFixed(2),
          deliveriesReceivedSoFar: withWebhook ? received : undefined,
        }));
      } finally {
        await server.close();
      }
    }
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

async function uploads(server: PartwayServer): Promise<number[]> {
  const latencies: number[] = [];
  const bytes = new Uint8Array(64 * 1024);
  for (let index = 0; index < UPLOADS; index++) {
    const form = new FormData();
    form.append('attributes', JSON.stringify({ name: `f-${index}.bin`, parent: { id: '0' } }));
    form.append('file', new Blob([bytes]), 'file');
    const start = performance.now();
    const response = await fetch(`${server.url}/api/2.0/files/content`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` } });
    await response.arrayBuffer();
    latencies.push(performance.now() - start);
    if (response.status !== 201) throw new Error(`upload ${index}: ${response.status}`);
  }
  return latencies;
}

/** User + system CPU seconds of the server process so far (Linux /proc). */
function cpuSeconds(server: PartwayServer): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

await main();
