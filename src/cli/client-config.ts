import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where `partway login` keeps the server and token: $XDG_CONFIG_HOME/partway/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.PARTWAY_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'partway'), 'config.json');
}

/** Where upload resume state lives: $XDG_STATE_HOME/partway/uploads. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PARTWAY_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'partway', 'uploads');
}

export interface ClientSettings {
  server: string;
  token: string;
}

/** Flags win over PARTWAY_SERVER / PARTWAY_TOKEN, which win over the login file. */
export async function clientSettings(flags: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Promise<Partial<ClientSettings>> {
  const saved = JSON.parse(await readFile(configPath(env), 'utf8').catch(() => '{}')) as Partial<ClientSettings>;
  return { server: flags.server ?? env.PARTWAY_SERVER ?? saved.server, token: flags.token ?? env.PARTWAY_TOKEN ?? saved.token };
}

export async function saveClientSettings(settings: ClientSettings, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = configPath(env);
  await writeJsonAtomically(path, settings, 0o600);
  return path;
}

/** Writes JSON next to its final name and renames it into place, so a crash never leaves half a file. */
export async function writeJsonAtomically(path: string, value: unknown, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(value, null, 2), { mode });
  await rename(temporary, path);
}
