import { BoxError } from './errors.js';

export const MAX_NAME_LENGTH = 255;

// Box refuses names with control characters, slashes, or leading/trailing spaces, and `.`/`..`.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f/\\]/;

// Characters that make a name read other than it is: bidi controls ("report\u202Efdp.exe" shows as
// "reportexe.pdf") and invisible ones (two names that look alike). ZWJ and ZWNJ stay allowed: emoji
// sequences and scripts such as Persian need them.
const DECEPTIVE = /[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

export function checkItemName(name: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw new BoxError('item_name_too_long', `Item name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (name === '' || name === '.' || name === '..' || name !== name.trim() || FORBIDDEN.test(name)
    || DECEPTIVE.test(name) || !name.isWellFormed()) {
    throw new BoxError('item_name_invalid', 'Item name invalid: it must not be empty, "." or "..", '
      + 'contain "/", "\\", control, bidi or zero-width characters, or start or end with spaces');
  }
}

/** Two names clash in a folder when they are equal ignoring case and Unicode normalisation. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}
