import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The host names Box's clients have compiled in. */
export const BOX_HOSTS = ['api.box.com', 'upload.box.com', 'account.box.com'];

export interface TestCertificates {
  dir: string;
  /** The throwaway CA's certificate: clients are told to trust it (and nothing on the machine is). */
  caPath: string;
  /** A leaf certificate for `hosts`, signed by the CA. */
  cert: string;
  key: string;
  remove(): Promise<void>;
}

/**
 * A CA that exists only for one test run, and a server certificate it signed for `hosts`, made
 * with Debian's `openssl` CLI (short-lived, EC keys: quick to make).
 */
export async function makeCertificates(hosts: readonly string[]): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'partway-tls-'));
  const path = (name: string) => join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ecKey, '-keyout', path('ca.key'), '-out', path('ca.pem'),
    '-days', '2', '-subj', '/CN=Partway test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await run('openssl', ['req', ...ecKey, '-keyout', path('leaf.key'), '-out', path('leaf.csr'), '-subj', `/CN=${hosts[0]}`]);
  await writeFile(path('leaf.ext'), `subjectAltName=${hosts.map((host) => `DNS:${host}`).join(',')}\n`
    + 'extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await run('openssl', ['x509', '-req', '-in', path('leaf.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', path('leaf.ext'), '-out', path('leaf.pem')]);
  return {
    dir, caPath: path('ca.pem'),
    cert: await readFile(path('leaf.pem'), 'utf8'), key: await readFile(path('leaf.key'), 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
