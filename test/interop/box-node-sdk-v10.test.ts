import { describe } from 'vitest';
import { startServer } from '../helpers/partway.js';
import { SHARED_BACKENDS, startSharedServer } from '../helpers/shared-backends.js';
import { describeV10Interop } from './v10-suite.js';

describeV10Interop('SQLite and the local disk', () => startServer());

describe.skipIf(!SHARED_BACKENDS)('with PARTWAY_TEST_DATABASE_URL and PARTWAY_TEST_S3_ENDPOINT', () => {
  describeV10Interop('PostgreSQL and S3', () => startSharedServer());
});
