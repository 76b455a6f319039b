import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResumeState } from '../client/index.js';
import { writeJsonAtomically } from './client-config.js';

/** What must be the same for a saved session to be continued: the file's version and the destination. */
export interface UploadKey {
  server: string;
  path: string;
  size: number;
  mtimeMs: number;
  folderId: string;
  name: string | undefined;
  newVersionOf: string | undefined;
}

interface Saved {
  key: UploadKey;
  state: ResumeState;
}

/**
 * One small JSON file per local file being uploaded (named by a hash of server and path), holding
 * the session to resume. A changed file (size or mtime) or another destination does not match.
 */
export class UploadStates {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The saved state for this path, whether or not it still matches the key. */
  async load(server: string, path: string): Promise<Saved | undefined> {
    const text = await readFile(this.#file(server, path), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : JSON.parse(text) as Saved;
  }

  async save(key: UploadKey, state: ResumeState): Promise<void> {
    await writeJsonAtomically(this.#file(key.server, key.path), { key, state } satisfies Saved);
  }

  async remove(server: string, path: string): Promise<void> {
    await rm(this.#file(server, path), { force: true });
  }

  #file(server: string, path: string): string {
    return join(this.#dir, `${createHash('sha1').update(`${server}\n${path}`).digest('hex')}.json`);
  }
}

export function sameKey(a: UploadKey, b: UploadKey): boolean {
  return a.server === b.server && a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs
    && a.folderId === b.folderId && a.name === b.name && a.newVersionOf === b.newVersionOf;
}
