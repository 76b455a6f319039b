import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const CLIENT = new URL('../../src/client/', import.meta.url);
/** The Node entry; everything else directly in src/client/ also runs in the browser. */
const NODE_ONLY = new Set(['index.ts']);

describe('the shared client modules', () => {
  it('import nothing of Node\'s (node:*, undici, Buffer): Node\'s pieces live in src/client/node/', async () => {
    const shared = (await readdir(CLIENT)).filter((name) => name.endsWith('.ts') && !NODE_ONLY.has(name));
    expect(shared).toContain('upload-engine.ts');
    for (const name of shared) {
      const code = (await readFile(new URL(name, CLIENT), 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, name).not.toMatch(/from '(node:|undici)|\bBuffer\b|\bprocess\./);
      expect(code, name).not.toMatch(/from '\.\/node\//);
    }
  });
});
