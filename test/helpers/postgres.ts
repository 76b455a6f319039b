import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL the tests use: the developer's, or the one the test set-up provides (test/setup/).
 * Tests that need it are skipped without it, and the run then says so at its end.
 */
export const TEST_DATABASE_URL = process.env.PARTWAY_TEST_DATABASE_URL;

/**
 * A fresh, empty schema in the test database and a connection string that uses it, so every test
 * starts from nothing without the cost of a new database. `drop` removes it.
 */
export async function freshSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `partway_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
}
