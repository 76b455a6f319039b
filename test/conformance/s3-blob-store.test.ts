import { describe } from 'vitest';
import { S3BlobStore } from '../../src/blobs/s3-store.js';
import { TEST_S3 } from '../helpers/s3.js';
import { describeBlobStore } from './blob-store-suite.js';

describe.skipIf(!TEST_S3)('S3 (PARTWAY_TEST_S3_ENDPOINT)', () => {
  describeBlobStore('S3BlobStore', async () => {
    const store = new S3BlobStore(TEST_S3!);
    return { store, async cleanup() { store.close(); } };
  }, { readPart: false, listUploads: false });
});
