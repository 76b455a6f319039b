import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Client } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, randomData, sha1Base64 } from '../helpers/partway.js';
import { runCli, spawnServer, waitForExit, type ServerProcess } from '../helpers/process.js';

const run = promisify(execFile);

/** A throwaway CA and two certificates it signed for 127.0.0.1, made with Debian's openssl. */
interface Certificates {
  dir: string;
  ca: Buffer;
  first: { cert: string; key: string };
  second: { cert: string; key: string };
}

async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(join(tmpdir(), 'partway-tls-'));
  const at = (name: string) => join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ecKey, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-subj', '/CN=Partway test CA', '-days', '1']);
  await writeFile(at('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  const issue = async (name: string) => {
    await run('openssl', ['req', ...ecKey, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${name}`]);
    await run('openssl', ['x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial',
      '-out', at(`${name}.pem`), '-days', '1', '-extfile', at('san.ext')]);
    return { cert: at(`${name}.pem`), key: at(`${name}.key`) };
  };
  return { dir, ca: await readFile(at('ca.pem')), first: await issue('first'), second: await issue('second') };
}

/** The common name of the certificate a new TLS connection is shown. */
function certificateOfNewConnection(url: string, ca: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function waitForOutput(server: ServerProcess, text: string, times = 1): Promise<void> {
  for (let waited = 0; server.output().split(text).length <= times; waited += 20) {
    if (waited > 10_000) throw new Error(`no "${text}" in: ${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let certs: Certificates;
let running: ServerProcess | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  certs = await makeCertificates();
  return () => rm(certs.dir, { recursive: true, force: true });
});

afterEach(async () => {
  running?.child.kill('SIGKILL');
  if (running) await waitForExit(running.child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  running = undefined;
  dataDir = undefined;
});

describe('partway serve over HTTPS', () => {
  it('serves the API with PARTWAY_TLS_CERT and PARTWAY_TLS_KEY, and takes a new certificate on SIGHUP without dropping a connection mid-upload', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-tls-data-'));
    const settings = { PARTWAY_DATA_DIR: dataDir, PARTWAY_BASE_PART_SIZE: String(1024 * 1024), PARTWAY_MIN_CHUNKED_SIZE: '1000' };
    const token = (await runCli(['token', 'create', '--user', 'tess'], settings)).stdout.trim();
    const liveCert = join(certs.dir, 'live.pem');
    const liveKey = join(certs.dir, 'live.key');
    await writeFile(liveCert, await readFile(certs.first.cert));
    await writeFile(liveKey, await readFile(certs.first.key));
    running = await spawnServer({ ...settings, PARTWAY_TLS_CERT: liveCert, PARTWAY_TLS_KEY: liveKey });
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await certificateOfNewConnection(running.url, certs.ca)).toBe('first');

    // One kept-alive connection, trusted through the test's CA only.
    const client = new Client(running.url, { connect: { ca: certs.ca }, pipelining: 1 });
    let connections = 0;
    client.on('connect', () => { connections += 1; });
    const authorization = `Bearer ${token}`;
    const me = await client.request({ method: 'GET', path: '/2.0/users/me', headers: { authorization } });
    expect(me.statusCode).toBe(200);
    expect(await me.body.json()).toMatchObject({ type: 'user', name: 'tess' });

    const size = 2 * 1024 * 1024;
    const data = randomData(size);
    const created = await client.request({
      method: 'POST', path: '/api/2.0/files/upload_sessions',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: '0', file_size: size, file_name: 'over-tls.bin' }),
    });
    const session = await created.body.json() as { id: string; part_size: number; session_endpoints: { upload_part: string } };
    expect(created.statusCode).toBe(201);
    // The session's links name the scheme the client used.
    expect(session.session_endpoints.upload_part).toBe(`${running.url}/api/2.0/files/upload_sessions/${session.id}`);

    // A part is half sent when the certificate is renewed on disk and the server told so.
    const part = data.subarray(0, session.part_size);
    const body = new PassThrough();
    const answer = client.request({
      method: 'PUT', path: `/api/2.0/files/upload_sessions/${session.id}`, body,
      headers: {
        authorization, 'content-type': 'application/octet-stream', digest: `sha=${sha1Base64(part)}`,
        'content-range': `bytes 0-${part.length - 1}/${size}`, 'content-length': String(part.length),
      },
    });
    body.write(part.subarray(0, part.length / 2));
    await writeFile(liveCert, await readFile(certs.second.cert));
    await writeFile(liveKey, await readFile(certs.second.key));
    running.child.kill('SIGHUP');
    await waitForOutput(running, 'TLS certificate reloaded');
    body.end(part.subarray(part.length / 2));
    const uploaded = await answer;
    expect(uploaded.statusCode).toBe(200);
    expect(await uploaded.body.json()).toMatchObject({ part: { offset: 0, size: part.length } });

    // The connection opened before still works; a new one is shown the new certificate.
    const again = await client.request({ method: 'GET', path: '/2.0/users/me', headers: { authorization } });
    expect(again.statusCode).toBe(200);
    await again.body.dump();
    expect(connections).toBe(1);
    expect(await certificateOfNewConnection(running.url, certs.ca)).toBe('second');
    await client.close();
  });

  it('keeps serving the certificate it has when the files it reads again on SIGHUP are bad', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-tls-data-'));
    const liveCert = join(certs.dir, 'broken.pem');
    await writeFile(liveCert, await readFile(certs.first.cert));
    running = await spawnServer({ PARTWAY_DATA_DIR: dataDir, PARTWAY_TLS_CERT: liveCert, PARTWAY_TLS_KEY: certs.first.key });

    // A certificate that does not match the key, then one that is not a certificate at all.
    await writeFile(liveCert, await readFile(certs.second.cert));
    running.child.kill('SIGHUP');
    await waitForOutput(running, 'TLS certificate not reloaded');
    await writeFile(liveCert, 'not a certificate');
    running.child.kill('SIGHUP');
    await waitForOutput(running, 'TLS certificate not reloaded', 2);

    expect(await certificateOfNewConnection(running.url, certs.ca)).toBe('first');
    const client = new Client(running.url, { connect: { ca: certs.ca } });
    const health = await client.request({ method: 'GET', path: '/healthz' });
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    await client.close();
  });

  it('keeps serving plain HTTP through a SIGHUP (`systemctl reload`) when it has no certificate', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-tls-data-'));
    running = await spawnServer({ PARTWAY_DATA_DIR: dataDir });
    running.child.kill('SIGHUP');
    await waitForOutput(running, 'nothing to reload');
    expect((await call('GET', `${running.url}/healthz`)).status).toBe(200);
  });

  it('refuses to start with a certificate but no key', async () => {
    await expect(runCli(['serve', '--tls-cert', certs.first.cert, '--port', '0'])).rejects.toThrow(/PARTWAY_TLS_KEY \(--tls-key\)/);
  });
});
