import type { S3Settings } from '../../src/blobs/s3-store.js';

/**
 * The S3-compatible server the tests use: the developer's, or the Swift the test set-up starts with
 * `scripts/start-s3.sh` (test/setup/). Tests that need it are skipped without PARTWAY_TEST_S3_ENDPOINT,
 * and the run then says so at its end.
 */
export const TEST_S3: S3Settings | undefined = process.env.PARTWAY_TEST_S3_ENDPOINT
  ? {
    endpoint: process.env.PARTWAY_TEST_S3_ENDPOINT,
    region: process.env.PARTWAY_TEST_S3_REGION ?? 'us-east-1',
    bucket: process.env.PARTWAY_TEST_S3_BUCKET ?? 'uploads',
    accessKeyId: process.env.PARTWAY_TEST_S3_ACCESS_KEY_ID,
    secretAccessKey: process.env.PARTWAY_TEST_S3_SECRET_ACCESS_KEY,
    forcePathStyle: true,
  }
  : undefined;
