/** The metadata database cannot be reached right now; the request may be retried later. */
export class MetadataUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The metadata database is unavailable', options);
    this.name = 'MetadataUnavailableError';
  }
}
