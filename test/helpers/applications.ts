import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestServer } from './partway.js';
import { runCli } from './process.js';

/** The passphrase of the applications' private keys (Box hands out encrypted ones; both SDKs ask for it). */
export const KEY_PASSPHRASE = 'correct horse battery staple';

export interface JwtApp {
  clientId: string;
  clientSecret: string;
  userId: string;
  /** The key id `partway app add-key` printed. */
  keyId: string;
  /** Encrypted PKCS#8 PEM, with KEY_PASSPHRASE. */
  privateKey: string;
}

/**
 * An application made as an operator would, with the real CLI on the server's data directory:
 * `partway app create`, then `partway app add-key` with a new 2048-bit RSA key pair.
 */
export async function createJwtApp(server: TestServer, user: string): Promise<JwtApp> {
  const env = { PARTWAY_DATA_DIR: server.dataDir };
  const created = await runCli(['app', 'create', '--user', user], env);
  const fields = Object.fromEntries(created.stdout.trim().split('\n').map((line) => line.split('\t') as [string, string]));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: KEY_PASSPHRASE },
  });
  const publicKeyFile = join(server.dataDir, `${user}.pub.pem`);
  await writeFile(publicKeyFile, publicKey);
  const keyId = (await runCli(['app', 'add-key', '--app', fields.client_id!, '--public-key', publicKeyFile], env)).stdout.trim();
  return { clientId: fields.client_id!, clientSecret: fields.client_secret!, userId: fields.user_id!, keyId, privateKey };
}
