/**
 * Box's rules for what goes on the wire, shared by the Node client, the web uploader and the server's
 * defaults (no imports, no I/O).
 */

/** Box refuses upload sessions for smaller files; they go through the simple upload. */
export const BOX_CHUNKED_MINIMUM = 20_000_000;

/** A part's `Content-Range`: the inclusive byte range it covers, out of the whole file's size. */
export function contentRange(offset: number, length: number, fileSize: number): string {
  return `bytes ${offset}-${offset + length - 1}/${fileSize}`;
}

/** The `Digest` header Box wants on a part and on a commit: the SHA-1, base64-encoded. */
export function sha1Digest(sha1: Uint8Array): string {
  return `sha=${toBase64(sha1)}`;
}

export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
