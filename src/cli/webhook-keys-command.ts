import { Option, type Command } from 'commander';
import { withMetadata } from './with-metadata.js';

/**
 * `partway webhook-keys show|rotate --user NAME`: the user's two keys that sign webhook deliveries
 * (Box's primary and secondary signature keys). Printed only here, for the operator to hand on.
 */
export function registerWebhookKeysCommand(program: Command): void {
  const command = program.command('webhook-keys').description('show or rotate a user\'s webhook signature keys (primary and secondary)');
  const options = (sub: Command) => sub
    .requiredOption('--user <name>', 'user name')
    .addOption(new Option('--data-dir <data_dir>', 'data directory [env PARTWAY_DATA_DIR] (default: ./data)'))
    .addOption(new Option('--database-url <url>', 'PostgreSQL metadata store [env PARTWAY_DATABASE_URL]'));

  options(command.command('show').description('print both keys (made on first use)'))
    .action(async (flags: Flags) => {
      const keys = await withKeys(flags, (keys, userId) => keys.keysOf(userId));
      process.stdout.write(`primary\t${keys.primary}\nsecondary\t${keys.secondary}\n`);
    });

  options(command.command('rotate').description('replace one key with a new one; prints it (deliveries from now on are signed with it)'))
    .addOption(new Option('--which <key>', 'the key to replace').choices(['primary', 'secondary']).makeOptionMandatory())
    .action(async (flags: Flags & { which: 'primary' | 'secondary' }) => {
      const key = await withKeys(flags, (keys, userId) => keys.rotate(userId, flags.which));
      process.stdout.write(`${flags.which}\t${key}\n`);
    });
}

interface Flags { user: string; dataDir?: string; databaseUrl?: string }

async function withKeys<T>(flags: Flags, work: (keys: import('../core/webhook-keys.js').WebhookKeys, userId: string) => Promise<T>): Promise<T> {
  const { WebhookKeys } = await import('../core/webhook-keys.js');
  return withMetadata(flags, async (metadata) => {
    const user = await metadata.getUserByName(flags.user);
    if (!user) throw new Error(`No user ${flags.user}`);
    return work(new WebhookKeys(metadata), user.id);
  });
}
