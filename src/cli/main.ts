#!/usr/bin/env -S node --max-semi-space-size=8
import { Command, Option } from 'commander';
import { formerNamesUsed, loadConfig, SETTINGS, type Setting, type SettingKey } from '../config.js';
import type { Applications } from '../core/applications.js';
import type { Tokens } from '../core/tokens.js';
import { withMetadata } from './with-metadata.js';
import { boxDate } from '../http/present.js';
import { registerClientCommands } from './client-commands.js';
import { missingServerNodeOptions } from './node-options.js';
import { registerWebhookKeysCommand } from './webhook-keys-command.js';

// The server stack (Fastify, SQLite, ...) is loaded only by the commands that need it, so that
// `partway upload` starts small and stays small.

const program = new Command('partway')
  .description('Partway: a self-hosted server for very large uploads, speaking Box\'s Chunked Upload API')
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

const serve = program.command('serve').description('serve the API (SQLite and the local disk under the data directory)');
/** Former flag names, accepted (hidden from the help) and read as the setting's current name. */
const formerFlags = new Map<string, SettingKey>();
for (const setting of SETTINGS as readonly Setting<SettingKey>[]) {
  const placeholder = setting.flag.slice(2).replace(/-/g, '_');
  serve.addOption(new Option(`${setting.flag} <${placeholder}>`, `${setting.description} [env ${setting.env}]`
    + (setting.default === undefined ? '' : ` (default: ${setting.default})`)));
  if (setting.formerly !== undefined) {
    const former = new Option(`${setting.formerly.flag} <${placeholder}>`).hideHelp();
    serve.addOption(former);
    formerFlags.set(former.attributeName(), setting.key);
  }
}
serve.action(async (given: Record<string, string | undefined>) => {
  const flags: Partial<Record<SettingKey, string>> = {};
  const formerGiven: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    const current = formerFlags.get(name);
    if (current === undefined) flags[name as SettingKey] = value;
    else {
      flags[current] ??= value;
      formerGiven.push(`--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`);
    }
  }
  const config = loadConfig(flags);
  const { createPartway } = await import('../server.js');
  const partway = await createPartway(config);
  for (const rename of formerNamesUsed(formerGiven)) partway.app.log.warn(`${rename}; the old name still works for now`);
  const missing = missingServerNodeOptions();
  if (missing.length > 0) {
    partway.app.log.warn({ missing }, `Node was started without ${missing.join(' ')}: large uploads will cost more CPU (see the README)`);
  }
  const address = await partway.listen();
  partway.app.log.info({ address, dataDir: config.dataDir }, `Partway is serving on ${address}`);
  if (config.publicUrl === undefined && !isLoopback(config.host)) {
    partway.app.log.warn({ host: config.host }, 'Listening beyond loopback without PARTWAY_PUBLIC_URL: set it to the URL clients use. '
      + 'Until then upload and download links name the address each request came in on, or what a proxy in PARTWAY_TRUST_PROXY reports');
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    partway.app.log.info({ signal }, 'shutting down: finishing requests in flight');
    partway.close().then(() => process.exit(0), (error: unknown) => {
      partway.app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  // Certificates renewed on disk (certbot, a CA's agent) are taken up without a restart or a dropped
  // connection. Without TLS, SIGHUP (`systemctl reload`) must not stop the server as it would by default.
  process.on('SIGHUP', () => {
    if (!config.tls) return partway.app.log.info('SIGHUP: nothing to reload (no TLS certificate)');
    partway.reloadCertificate().then(
      () => partway.app.log.info({ cert: config.tls!.certPath }, 'TLS certificate reloaded'),
      (error: unknown) => partway.app.log.error({ err: error }, 'TLS certificate not reloaded: still serving the previous one'),
    );
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
});

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const dataDirOption = () => new Option('--data-dir <data_dir>', 'data directory [env PARTWAY_DATA_DIR] (default: ./data)');
const databaseOption = () => new Option('--database-url <url>', 'PostgreSQL metadata store [env PARTWAY_DATABASE_URL]');

async function withTokens<T>(flags: { dataDir?: string; databaseUrl?: string }, work: (tokens: Tokens) => Promise<T>): Promise<T> {
  return withMetadata(flags, (_metadata, tokens) => work(tokens));
}

const token = program.command('token').description('manage bearer tokens');
token.command('create').description('create a token (and the user, if new); prints the token alone on stdout')
  .requiredOption('--user <name>', 'user name')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (flags: { user: string; dataDir?: string; databaseUrl?: string }) => {
    const created = await withTokens(flags, (tokens) => tokens.create(flags.user));
    process.stdout.write(`${created.token}\n`);
  });
token.command('list').description('list tokens (ids only: secrets are not stored)')
  .option('--user <name>', 'only this user\'s tokens')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (flags: { user?: string; dataDir?: string; databaseUrl?: string }) => {
    const list = await withTokens(flags, (tokens) => tokens.list(flags.user));
    for (const entry of list) {
      const state = entry.revokedAt !== null ? `revoked ${boxDate(entry.revokedAt)}`
        : entry.expiresAt === undefined ? 'active'
        : `${entry.expiresAt <= Date.now() ? 'expired' : 'active, expires'} ${boxDate(entry.expiresAt)}`;
      process.stdout.write(`${entry.id}\t${entry.userName}\tcreated ${boxDate(entry.createdAt)}\t${state}\n`);
    }
  });
token.command('revoke').description('revoke a token by its id (or the whole token)')
  .argument('<id>', 'token id as `token list` shows it')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (id: string, flags: { dataDir?: string; databaseUrl?: string }) => {
    if (!(await withTokens(flags, (tokens) => tokens.revoke(id)))) {
      process.stderr.write(`No active token ${id}\n`);
      process.exitCode = 1;
    }
  });

async function withApplications<T>(flags: { dataDir?: string; databaseUrl?: string }, work: (applications: Applications) => Promise<T>): Promise<T> {
  const { Applications } = await import('../core/applications.js');
  return withMetadata(flags, (metadata, tokens) => work(new Applications(metadata, tokens)));
}

const application = program.command('app').description('manage OAuth 2.0 applications (client credentials and JWT grants)');
application.command('create').description('create an application acting as a user (created if new); prints its client id and secret')
  .requiredOption('--user <name>', 'user name')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (flags: { user: string; dataDir?: string; databaseUrl?: string }) => {
    const created = await withApplications(flags, (applications) => applications.create(flags.user));
    process.stdout.write(`client_id\t${created.clientId}\nclient_secret\t${created.clientSecret}\nuser_id\t${created.user.id}\n`);
  });
application.command('list').description('list applications and their public keys (ids only: secrets are not stored)')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (flags: { dataDir?: string; databaseUrl?: string }) => {
    const list = await withApplications(flags, (applications) => applications.list());
    for (const entry of list) {
      const state = entry.revokedAt === null ? 'active' : `revoked ${boxDate(entry.revokedAt)}`;
      process.stdout.write(`${entry.id}\t${entry.userName}\tuser ${entry.userId}\tcreated ${boxDate(entry.createdAt)}\t${state}\n`);
      for (const key of entry.keys) process.stdout.write(`\tkey ${key.id}\tadded ${boxDate(key.createdAt)}\n`);
    }
  });
application.command('revoke').description('revoke an application by its client id, and at once every access token it was given')
  .argument('<id>', 'client id as `app list` shows it')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (id: string, flags: { dataDir?: string; databaseUrl?: string }) => {
    if (!(await withApplications(flags, (applications) => applications.revoke(id)))) {
      process.stderr.write(`No active application ${id}\n`);
      process.exitCode = 1;
    }
  });
application.command('add-key').description('register an RSA public key (PEM) for the JWT grant; prints its key id (the JWT header\'s kid)')
  .requiredOption('--app <id>', 'client id')
  .requiredOption('--public-key <file>', 'PEM file of the RSA public key (2048 bits or more)')
  .option('--key-id <id>', 'the key\'s id (default: a new one)')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (flags: { app: string; publicKey: string; keyId?: string; dataDir?: string; databaseUrl?: string }) => {
    const { readFile } = await import('node:fs/promises');
    const pem = await readFile(flags.publicKey, 'utf8');
    const key = await withApplications(flags, (applications) => applications.addKey(flags.app, pem, flags.keyId));
    process.stdout.write(`${key.id}\n`);
  });
application.command('remove-key').description('remove one of an application\'s public keys: assertions it signs are refused from now on')
  .requiredOption('--app <id>', 'client id')
  .requiredOption('--key-id <id>', 'key id as `app list` shows it')
  .addOption(dataDirOption())
  .addOption(databaseOption())
  .action(async (flags: { app: string; keyId: string; dataDir?: string; databaseUrl?: string }) => {
    if (!(await withApplications(flags, (applications) => applications.removeKey(flags.app, flags.keyId)))) {
      process.stderr.write(`Application ${flags.app} has no key ${flags.keyId}\n`);
      process.exitCode = 1;
    }
  });

registerWebhookKeysCommand(program);
registerClientCommands(program);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`partway: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
