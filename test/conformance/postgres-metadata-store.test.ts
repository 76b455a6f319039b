import { describe, expect, it } from 'vitest';
import { PostgresMetadataStore } from '../../src/metadata/postgres/postgres-store.js';
import { freshSchema, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { describeMetadataStore } from './metadata-store-suite.js';

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL (PARTWAY_TEST_DATABASE_URL)', () => {
  describeMetadataStore('PostgresMetadataStore', async () => {
    const schema = await freshSchema();
    const store = await PostgresMetadataStore.open(schema.url, { maxConnections: 5 });
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  });

  it('migrates once when several nodes start at the same moment', async () => {
    const schema = await freshSchema();
    try {
      const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresMetadataStore.open(schema.url, { maxConnections: 2 })));
      const users = await Promise.all(stores.map((store) => store.ensureUser('same', Date.now())));
      expect(new Set(users.map((user) => user.id)).size).toBe(1);
      await Promise.all(stores.map((store) => store.close()));
    } finally {
      await schema.drop();
    }
  });
});
