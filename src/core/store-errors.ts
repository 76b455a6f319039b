/** Failures of a store that are not the request's fault, shared by the metadata and blob stores. */

/** The storage has no room for more bytes (a full disk, a filesystem or bucket quota). */
export class StorageFullError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('No space left in storage', options);
    this.name = 'StorageFullError';
  }
}

/** The metadata database cannot be reached right now; the request may be retried later. */
export class MetadataUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The metadata database is unavailable', options);
    this.name = 'MetadataUnavailableError';
  }
}
