import { startServer } from '../../helpers/partway.js';

/**
 * Runs one Partway in this process for test/helpers/security.ts#startIsolatedServer: settings come as
 * JSON in PARTWAY_TEST_SETTINGS; it prints {url, token, bob, dataDir} as one JSON line and serves until SIGTERM.
 * Nothing here catches uncaught exceptions, exactly as in `partway serve`.
 */
const settings = JSON.parse(process.env.PARTWAY_TEST_SETTINGS ?? '{}') as Record<string, string>;
const server = await startServer(settings);
const bob = await server.tokenFor('bob');
process.stdout.write(`${JSON.stringify({ url: server.url, token: server.token, bob, dataDir: server.dataDir })}\n`);
const stop = () => {
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', stop);
// The test process went away (the IPC channel closed): do not outlive it.
process.once('disconnect', stop);
