import { freshSchema, TEST_DATABASE_URL } from './postgres.js';
import { startServer, type TestServer } from './partway.js';
import { TEST_S3 } from './s3.js';

/** Whether PostgreSQL and S3 are there for the tests (the test set-up provides both). */
export const SHARED_BACKENDS = TEST_DATABASE_URL !== undefined && TEST_S3 !== undefined;

/** The server settings for PostgreSQL (this schema) and the test S3 bucket. */
export function sharedBackendSettings(databaseUrl: string) {
  return {
    databaseUrl,
    s3Endpoint: TEST_S3!.endpoint,
    s3Bucket: TEST_S3!.bucket,
    s3Region: TEST_S3!.region,
    s3AccessKeyId: TEST_S3!.accessKeyId,
    s3SecretAccessKey: TEST_S3!.secretAccessKey,
  };
}

/** A server on PostgreSQL (a fresh schema) and S3, as a node of a multi-node deployment runs. */
export async function startSharedServer(settings: Parameters<typeof startServer>[0] = {},
  options: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  const schema = await freshSchema();
  const server = await startServer({ ...sharedBackendSettings(schema.url), ...settings }, options);
  return {
    ...server,
    async close() {
      await server.close();
      await schema.drop();
    },
  };
}
