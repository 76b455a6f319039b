import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  AbortedError, BoxApiError, PartwayClient, PartwayClientError, SourceChangedError, VerificationError, type UploadResult,
} from '../client/index.js';
import { clientSettings, saveClientSettings, stateDir } from './client-config.js';
import { formatBytes } from '../client/format-bytes.js';
import { ProgressDisplay, type ProgressMode } from './progress.js';
import { sameKey, UploadStates, type UploadKey } from './upload-state.js';

/** Exit codes: scripts can tell a bad command line from a server refusal from corrupted data. */
export const EXIT = { ok: 0, server: 1, usage: 2, verification: 3, interrupted: 130 } as const;

interface ConnectionFlags {
  server?: string;
  token?: string;
}

interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
}

class UsageError extends Error {}

export function registerClientCommands(program: Command): void {
  const withConnection = (command: Command) => command
    .option('--server <url>', 'Partway server, e.g. http://127.0.0.1:8080 [env PARTWAY_SERVER]')
    .option('--token <token>', 'bearer token [env PARTWAY_TOKEN]');

  withConnection(program.command('upload'))
    .description('upload files in parallel parts; re-run the same command to resume an interrupted upload')
    .argument('<paths...>', 'files to upload')
    .option('--folder <id>', 'folder to upload into', '0')
    .option('--name <name>', 'name for the uploaded file (one path only)')
    .option('--parallel <n>', 'parts in flight at once', '4')
    .option('--new-version-of <file_id>', 'upload as a new version of this file (one path only)')
    .option('--abort', 'end the saved upload session for these paths instead of uploading')
    .option('--json', 'print one JSON result per file')
    .option('--quiet', 'print nothing but errors')
    .action((paths: string[], flags) => run(() => uploadCommand(paths, flags)));

  withConnection(program.command('download'))
    .description('download a file, resuming an interrupted download and checking its SHA-1')
    .argument('<file_id>')
    .option('-o, --output <path>', 'where to write it (default: the file\'s name)')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'print nothing but errors')
    .action((fileId: string, flags) => run(() => downloadCommand(fileId, flags)));

  withConnection(program.command('ls'))
    .description('list a folder')
    .argument('[folder_id]', 'folder id', '0')
    .option('--json', 'print JSON')
    .action((folderId: string, flags) => run(async () => {
      const client = await connect(flags);
      const items = await client.listFolder(folderId);
      if (flags.json) return print(JSON.stringify(items));
      for (const item of items) {
        const size = item.type === 'file' ? formatBytes(item.size).padStart(10) : '         -';
        print(`${item.type === 'folder' ? 'd' : '-'} ${item.id.padStart(10)} ${size}  ${item.modified_at ?? ''}  ${item.name}${item.type === 'folder' ? '/' : ''}`);
      }
    }));

  withConnection(program.command('mkdir'))
    .description('create a folder')
    .argument('<name>')
    .option('--parent <id>', 'parent folder id', '0')
    .action((name: string, flags) => run(async () => {
      const folder = await (await connect(flags)).createFolder(name, flags.parent);
      print(folder.id);
    }));

  withConnection(program.command('rm'))
    .description('delete a file')
    .argument('<file_id>')
    .action((fileId: string, flags) => run(async () => {
      await (await connect(flags)).deleteFile(fileId);
    }));

  withConnection(program.command('whoami'))
    .description('show the user the token belongs to')
    .action((flags) => run(async () => {
      const user = await (await connect(flags)).me();
      print(`${user.name} (user ${user.id})`);
    }));

  program.command('login')
    .description('save the server and token for later commands')
    .requiredOption('--server <url>', 'Partway server, e.g. http://127.0.0.1:8080')
    .requiredOption('--token <token>', 'bearer token (partway token create)')
    .action((flags: { server: string; token: string }) => run(async () => {
      const user = await (await connect(flags)).me();
      const path = await saveClientSettings({ server: flags.server, token: flags.token });
      print(`Logged in to ${flags.server} as ${user.name}; saved in ${path}`);
    }));
}

async function connect(flags: ConnectionFlags): Promise<PartwayClient> {
  const settings = await clientSettings(flags);
  if (!settings.server || !settings.token) {
    throw new UsageError('No server or token: pass --server and --token, set PARTWAY_SERVER and PARTWAY_TOKEN, or run partway login');
  }
  return new PartwayClient({ server: settings.server, token: settings.token, userAgent: 'partway-cli' });
}

interface UploadFlags extends ConnectionFlags, OutputFlags {
  folder: string;
  name?: string;
  parallel: string;
  newVersionOf?: string;
  abort?: boolean;
}

async function uploadCommand(paths: string[], flags: UploadFlags): Promise<number> {
  const parallel = Number(flags.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError('--parallel takes a whole number from 1 to 64');
  if (paths.length > 1 && (flags.name !== undefined || flags.newVersionOf !== undefined)) {
    throw new UsageError('--name and --new-version-of take one path only');
  }
  const client = await connect(flags);
  const server = (await clientSettings(flags)).server!;
  const states = new UploadStates(stateDir());
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  const display = new ProgressDisplay(progressMode(flags));
  let exitCode: number = EXIT.ok;
  try {
    for (const path of paths.map((entry) => resolve(entry))) {
      if (flags.abort) {
        await abortSaved(client, states, server, path);
        continue;
      }
      const outcome = await uploadOne(client, states, display, { server, path, flags, parallel, signal: stop.signal });
      exitCode = Math.max(exitCode, outcome);
      if (outcome === EXIT.interrupted) break;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    display.stop();
    await client.close();
  }
  return exitCode;
}

async function uploadOne(client: PartwayClient, states: UploadStates, display: ProgressDisplay,
  job: { server: string; path: string; flags: UploadFlags; parallel: number; signal: AbortSignal }): Promise<number> {
  const { server, path, flags } = job;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return report(flags, path, new UsageError(`${path} is not a file`));
  const key: UploadKey = {
    server, path, size: info.size, mtimeMs: info.mtimeMs, folderId: flags.folder, name: flags.name, newVersionOf: flags.newVersionOf,
  };
  const saved = await states.load(server, path);
  const resume = saved && sameKey(saved.key, key) ? saved.state : undefined;
  if (saved && !resume) {
    // The file (or where it goes) changed since the saved session: never mix the two.
    await client.abort(saved.state).catch(() => {});
    await states.remove(server, path);
  }
  const tracker = display.track(flags.name ?? basename(path), info.size);
  let current = resume;
  try {
    const result = await client.upload(path, {
      folderId: flags.folder, name: flags.name, newVersionOf: flags.newVersionOf, concurrency: job.parallel, signal: job.signal,
      resume,
      onState: (state) => {
        current = state;
        return states.save(key, state);
      },
      onProgress: (progress) => tracker.update(progress.bytesDone),
    });
    await states.remove(server, path);
    tracker.stop();
    return report(flags, path, result);
  } catch (error) {
    tracker.stop();
    if (error instanceof SourceChangedError) {
      // Nothing can resume this session any more: end it rather than leave its parts until expiry.
      if (current) await client.abort(current).catch(() => {});
      await states.remove(server, path);
    }
    return report(flags, path, error);
  }
}

async function abortSaved(client: PartwayClient, states: UploadStates, server: string, path: string): Promise<void> {
  const saved = await states.load(server, path);
  if (!saved) throw new UsageError(`No upload of ${path} to resume or abort`);
  await client.abort(saved.state).catch((error: unknown) => {
    if (!(error instanceof BoxApiError && (error.status === 404 || error.status === 410))) throw error;
  });
  await states.remove(server, path);
  print(`Aborted the upload of ${path}`);
}

function report(flags: OutputFlags, path: string, outcome: UploadResult | unknown): number {
  if (outcome && typeof outcome === 'object' && 'file' in outcome && 'sha1' in outcome) {
    const result = outcome as UploadResult;
    if (flags.json) {
      print(JSON.stringify({
        path, ok: true, file_id: result.file.id, name: result.file.name, size: result.size, sha1: result.sha1,
        session_id: result.sessionId ?? null, parts_sent: result.partsSent, parts_skipped: result.partsSkipped, resumed: result.resumed,
      }));
    } else if (!flags.quiet) {
      const resumed = result.resumed ? `, resumed: ${result.partsSkipped} parts were already on the server` : '';
      print(`Uploaded ${path} as file ${result.file.id} (${formatBytes(result.size)}, SHA-1 ${result.sha1}${resumed})`);
    }
    return EXIT.ok;
  }
  const { code, message } = describeError(outcome);
  if (flags.json) print(JSON.stringify({ path, ok: false, error: message, code: outcome instanceof BoxApiError ? outcome.code : null }));
  else process.stderr.write(`partway: ${path}: ${message}\n`);
  return code;
}

function describeError(error: unknown): { code: number; message: string } {
  if (error instanceof AbortedError) return { code: EXIT.interrupted, message: `${error.message}` };
  if (error instanceof VerificationError) return { code: EXIT.verification, message: `verification failed: ${error.message}` };
  if (error instanceof UsageError) return { code: EXIT.usage, message: error.message };
  if (error instanceof BoxApiError) {
    const conflict = (error.contextInfo?.conflicts as { id?: string } | undefined)?.id;
    const hint = error.code === 'item_name_in_use' && conflict ? ` (to replace it, add --new-version-of ${conflict})` : '';
    return { code: EXIT.server, message: `the server refused: ${error.status} ${error.code}${hint}: ${error.message}` };
  }
  if (error instanceof PartwayClientError) return { code: EXIT.server, message: error.message };
  return { code: EXIT.server, message: error instanceof Error ? error.message : String(error) };
}

interface DownloadFlags extends ConnectionFlags, OutputFlags {
  output?: string;
}

async function downloadCommand(fileId: string, flags: DownloadFlags): Promise<number> {
  const client = await connect(flags);
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  const display = new ProgressDisplay(progressMode(flags));
  try {
    const info = await client.getFile(fileId);
    const output = resolve(flags.output ?? info.name);
    const tracker = display.track(info.name, info.size);
    const result = await client.download(fileId, output, { signal: stop.signal, onProgress: (progress) => tracker.update(progress.bytesDone) });
    tracker.stop();
    if (flags.json) print(JSON.stringify({ ok: true, file_id: fileId, path: result.path, size: result.size, sha1: result.sha1, resumed_from: result.resumedFrom }));
    else if (!flags.quiet) print(`Downloaded file ${fileId} to ${result.path} (${formatBytes(result.size)}, SHA-1 ${result.sha1} checked)`);
    return EXIT.ok;
  } catch (error) {
    const { code, message } = describeError(error);
    process.stderr.write(`partway: ${message}\n`);
    return code;
  } finally {
    process.removeListener('SIGINT', onSigint);
    display.stop();
    await client.close();
  }
}

function progressMode(flags: OutputFlags): ProgressMode {
  if (flags.quiet || flags.json) return 'quiet';
  return process.stderr.isTTY ? 'bars' : 'lines';
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Runs a command and turns its outcome into the exit code; every failure is reported, none swallowed. */
async function run(command: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await command()) ?? EXIT.ok;
  } catch (error) {
    const { code, message } = describeError(error);
    process.stderr.write(`partway: ${message}\n`);
    process.exitCode = code;
  }
}
