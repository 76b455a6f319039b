import { describe } from 'vitest';
import { startServer } from '../helpers/partway.js';
import { SHARED_BACKENDS, startSharedServer } from '../helpers/shared-backends.js';
import { describeLegacyInterop } from './legacy-suite.js';

describeLegacyInterop('SQLite and the local disk', () => startServer());

describe.skipIf(!SHARED_BACKENDS)('with PARTWAY_TEST_DATABASE_URL and PARTWAY_TEST_S3_ENDPOINT', () => {
  describeLegacyInterop('PostgreSQL and S3', () => startSharedServer());
});
