import { BoxError } from './errors.js';

export const MAX_NAME_LENGTH = 255;

// Box refuses names with control characters, slashes, or leading/trailing spaces, and `.`/`..`.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f/\\]/;

export function checkItemName(name: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw new BoxError('item_name_too_long', `Item name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (name === '' || name === '.' || name === '..' || name !== name.trim() || FORBIDDEN.test(name)
    || !name.isWellFormed()) {
    throw new BoxError('item_name_invalid', 'Item name invalid: it must not be empty, "." or "..", '
      + 'contain "/", "\\" or control characters, or start or end with spaces');
  }
}

/** Two names clash in a folder when they are equal ignoring case and Unicode normalisation. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}
