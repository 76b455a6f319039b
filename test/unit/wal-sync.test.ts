import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fsyncDirectory, WalSync } from '../../src/metadata/sqlite/wal-sync.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A real SQLite database in WAL mode, with one committed write in its WAL file. */
async function walDatabase() {
  const dir = await mkdtemp(join(tmpdir(), 'partway-wal-'));
  dirs.push(dir);
  const path = join(dir, 'test.db');
  const open = () => {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS t (v INTEGER)');
    db.prepare('INSERT INTO t VALUES (1)').run();
    return db;
  };
  return { dir, walPath: `${path}-wal`, open };
}

describe('WalSync', () => {
  it('makes a new WAL file\'s directory entry durable before the first sync resolves, and only once per file', async () => {
    const { dir, walPath, open } = await walDatabase();
    const synced: string[] = [];
    const recordingSync = async (path: string) => {
      await fsyncDirectory(path);
      synced.push(path);
    };

    let db = open();
    let wal = new WalSync(walPath, recordingSync);
    await wal.sync();
    expect(synced).toEqual([dir]);
    db.prepare('INSERT INTO t VALUES (2)').run();
    await Promise.all([wal.sync(), wal.sync()]);
    expect(synced).toEqual([dir]);
    await wal.close();
    db.close(); // the last connection deletes the WAL: a restart makes a new one

    db = open();
    wal = new WalSync(walPath, recordingSync);
    await wal.sync();
    expect(synced).toEqual([dir, dir]);
    await wal.close();
    db.close();
  });

  it('a directory that cannot be synced fails the sync rather than reporting it durable', async () => {
    const { walPath, open } = await walDatabase();
    const db = open();
    const wal = new WalSync(walPath, async () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    await expect(wal.sync()).rejects.toMatchObject({ code: 'EIO' });
    await wal.close();
    db.close();
  });
});
