import type { BoxApi } from '../box-api.js';
import { uploadFrom, type EngineOptions, type UploadResult } from '../upload-engine.js';
import { openSource, type UploadSource } from './sources.js';

export interface UploadProgress {
  /** Bytes the server holds, parts from an earlier run included; never goes down. */
  bytesDone: number;
  totalBytes: number;
  partsDone: number;
  totalParts: number;
}

export interface UploadOptions extends Omit<EngineOptions, 'onProgress'> {
  onProgress?: (progress: UploadProgress) => void;
}

/** Uploads a path, Blob or stream from Node through the shared engine (src/client/upload-engine.ts). */
export async function upload(api: BoxApi, source: UploadSource, options: UploadOptions = {}): Promise<UploadResult> {
  const { onProgress, ...rest } = options;
  let last: UploadProgress | undefined;
  return uploadFrom(api, await openSource(source), {
    ...rest,
    // Only what the server holds: the reader's position and the phase are the web page's business.
    onProgress: onProgress && (({ bytesDone, totalBytes, partsDone, totalParts }) => {
      if (last?.bytesDone === bytesDone && last.partsDone === partsDone) return;
      last = { bytesDone, totalBytes, partsDone, totalParts };
      onProgress({ ...last });
    }),
  });
}
