/** The storage has no room for more bytes (a full disk, a quota of the filesystem or bucket). */
export class StorageFullError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('No space left in blob storage', options);
    this.name = 'StorageFullError';
  }
}
