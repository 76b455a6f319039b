import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.js';

describe('partway webhook-keys', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-keys-'));
    await runCli(['token', 'create', '--user', 'alice', '--data-dir', dataDir]);
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const keysOf = async (user: string) => {
    const { stdout } = await runCli(['webhook-keys', 'show', '--user', user, '--data-dir', dataDir]);
    return Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('\t'))) as Record<string, string>;
  };

  it('shows two distinct keys, the same each time, and rotates one without touching the other', async () => {
    const first = await keysOf('alice');
    expect(first.primary).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(first.secondary).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(first.primary).not.toBe(first.secondary);
    expect(await keysOf('alice')).toEqual(first);

    const { stdout } = await runCli(['webhook-keys', 'rotate', '--user', 'alice', '--which', 'primary', '--data-dir', dataDir]);
    const [which, rotated] = stdout.trim().split('\t');
    expect(which).toBe('primary');
    expect(await keysOf('alice')).toEqual({ primary: rotated, secondary: first.secondary });
    expect(rotated).not.toBe(first.primary);
  });

  it('refuses an unknown user and a key name that is neither primary nor secondary', async () => {
    await expect(runCli(['webhook-keys', 'show', '--user', 'nobody', '--data-dir', dataDir])).rejects.toThrow(/No user nobody/);
    await expect(runCli(['webhook-keys', 'rotate', '--user', 'alice', '--which', 'tertiary', '--data-dir', dataDir])).rejects.toThrow(/primary, secondary/);
  });
});
