import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { killStartedClis, tempDir } from './cli.js';
import { BEHIND_FAULT_PROXY, FaultProxy } from './fault-proxy.js';
import { startServer, type TestServer } from './partway.js';
import { ServerWatch } from './server-watch.js';

type Dir = { path: string; remove(): Promise<void> };

export interface CliWorld {
  server: TestServer;
  /** In front of the server: the CLI talks to this, and tests inject faults here. */
  proxy: FaultProxy;
  watch: ServerWatch;
  /** Where the test files to upload are written. */
  work: Dir;
  stateDir: Dir;
  configDir: Dir;
}

/**
 * What the CLI test files share, registered as their hooks: one server (1 MiB parts) behind a
 * fault-injecting proxy and watched; temp dirs for files, resume state and config. Before each test
 * the proxy's rules and records and the watch are cleared; after it, CLIs still running are killed.
 * `nestedStateDir`: the state directory does not exist yet (the CLI must create it).
 */
export function cliWorld(prefix: string, options: { nestedStateDir?: boolean } = {}): CliWorld {
  const world = {} as CliWorld;
  beforeAll(async () => {
    world.server = await startServer({ basePartSize: String(1024 * 1024), ...BEHIND_FAULT_PROXY });
    world.proxy = await FaultProxy.start(world.server.url);
    world.watch = new ServerWatch(world.server);
    world.work = await tempDir(`${prefix}-work-`);
    const stateRoot = await tempDir(`${prefix}-state-`);
    world.stateDir = options.nestedStateDir ? { path: join(stateRoot.path, 'nested', 'uploads'), remove: stateRoot.remove } : stateRoot;
    world.configDir = await tempDir(`${prefix}-config-`);
  });
  afterEach(() => killStartedClis());
  afterAll(async () => {
    world.watch.detach();
    await world.proxy.close();
    await world.server.close();
    await Promise.all([world.work.remove(), world.stateDir.remove(), world.configDir.remove()]);
  });
  beforeEach(() => {
    world.proxy.clearRules();
    world.proxy.requests.length = 0;
    world.watch.reset();
  });
  return world;
}
