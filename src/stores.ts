import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskBlobStore } from './blobs/disk-store.js';
import type { BlobStore } from './blobs/store.js';
import { SqliteMetadataStore } from './metadata/sqlite/sqlite-store.js';
import type { MetadataStore } from './metadata/store.js';

export interface Stores {
  metadata: MetadataStore;
  blobs: BlobStore;
}

/** Opens the metadata store in the data directory (SQLite). `owner`: the caller is the server. */
export async function openMetadata(dataDir: string, options: { owner?: boolean } = {}): Promise<MetadataStore> {
  await mkdir(dataDir, { recursive: true });
  return new SqliteMetadataStore(join(dataDir, 'partway.db'), options);
}

/** The stores the server runs on: SQLite and the local disk, under one data directory. */
export async function openStores(dataDir: string): Promise<Stores> {
  const metadata = await openMetadata(dataDir, { owner: true });
  const blobs = await new DiskBlobStore(join(dataDir, 'blobs')).init();
  return { metadata, blobs };
}
