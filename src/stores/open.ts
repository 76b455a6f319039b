import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskBlobStore } from '../blobs/disk-store.js';
import type { BlobStore } from '../blobs/store.js';
import type { PartwayConfig } from '../config.js';
import { SqliteMetadataStore } from '../metadata/sqlite/sqlite-store.js';
import type { MetadataStore } from '../metadata/store.js';

// PostgreSQL and S3 are loaded only when configured: the AWS SDK alone adds tens of MiB to a node.

export interface Stores {
  metadata: MetadataStore;
  blobs: BlobStore;
  /** Whether several nodes may share these stores (PostgreSQL and S3) or only this process. */
  shared: boolean;
  close(): Promise<void>;
}

type StoreSettings = Pick<PartwayConfig, 'dataDir' | 'databaseUrl' | 's3'>;

/** Opens the metadata store: PostgreSQL when a database URL is set, else SQLite in the data directory. */
export async function openMetadata(settings: StoreSettings): Promise<MetadataStore> {
  if (settings.databaseUrl !== undefined) {
    const { PostgresMetadataStore } = await import('../metadata/postgres/postgres-store.js');
    return PostgresMetadataStore.open(settings.databaseUrl);
  }
  // Owner only: the database holds the download-link key. (Modes of what exists already are left as set.)
  await mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
  const path = join(settings.dataDir, 'partway.db');
  await writeFile(path, '', { flag: 'a', mode: 0o600 }); // SQLite gives its -wal and -shm files the same mode
  return new SqliteMetadataStore(path);
}

/** The stores a server runs on: SQLite and the local disk by default, PostgreSQL and S3 when configured. */
export async function openStores(settings: StoreSettings): Promise<Stores> {
  const metadata = await openMetadata(settings);
  const s3 = settings.s3 === undefined ? undefined : new (await import('../blobs/s3-store.js')).S3BlobStore(settings.s3);
  const blobs = s3 ?? await new DiskBlobStore(join(settings.dataDir, 'blobs')).init();
  return {
    metadata,
    blobs,
    shared: settings.databaseUrl !== undefined && s3 !== undefined,
    async close() {
      await metadata.close();
      s3?.close();
    },
  };
}
