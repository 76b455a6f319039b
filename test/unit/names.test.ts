import { describe, expect, it } from 'vitest';
import { checkItemName, MAX_NAME_LENGTH, nameKey } from '../../src/core/names.js';
import { boxErrorFrom } from './box-error.js';

describe('checkItemName', () => {
  it.each([
    ['a plain name', 'report.pdf'],
    ['one character', 'a'],
    ['inner spaces', 'annual report 2026.pdf'],
    ['a leading dot', '.hidden'],
    ['three dots', '...'],
    ['a trailing dot', 'name.'],
    ['accents and other scripts', 'Überblick – 概要.txt'],
    ['an emoji (a surrogate pair)', 'photo 📷.jpg'],
    ['an emoji sequence joined by ZWJ', 'family 👨\u200d👩\u200d👧.jpg'],
    ['Persian with a ZWNJ', 'می\u200cخواهم.txt'],
    ['right-to-left text', 'שלום.txt'],
    ['punctuation Box allows', 'a:b*c?"d<e>f|g.txt'],
    [`exactly ${MAX_NAME_LENGTH} characters`, 'n'.repeat(MAX_NAME_LENGTH)],
  ])('accepts %s', (_, name) => {
    expect(() => checkItemName(name)).not.toThrow();
  });

  it.each([
    ['an empty name', ''],
    ['"."', '.'],
    ['".."', '..'],
    ['a slash', 'a/b'],
    ['a path that climbs', '../secret'],
    ['a backslash', 'a\\b'],
    ['a leading space', ' name'],
    ['a trailing space', 'name '],
    ['only spaces', '   '],
    ['a trailing tab', 'name\t'],
    ['a NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['the unit separator (0x1F)', 'a\u001fb'],
    ['DEL (0x7F)', 'a\u007fb'],
    ['a lone surrogate', 'a\ud800b'],
    ['a right-to-left override', 'report\u202efdp.exe'],
    ['a left-to-right embedding', 'a\u202ab'],
    ['a pop directional formatting', 'a\u202cb'],
    ['a right-to-left isolate', 'a\u2067b'],
    ['a pop directional isolate', 'a\u2069b'],
    ['a right-to-left mark', 'a\u200fb'],
    ['an Arabic letter mark', 'a\u061cb'],
    ['a zero-width space', 'pay\u200bpal.pdf'],
    ['a word joiner', 'a\u2060b'],
    ['a zero-width no-break space (BOM)', '\ufeffname'],
  ])('refuses %s with 400 item_name_invalid', (_, name) => {
    const error = boxErrorFrom(() => checkItemName(name));
    expect([error.status, error.code]).toEqual([400, 'item_name_invalid']);
  });

  it.each([
    [`${MAX_NAME_LENGTH + 1} characters`, 'n'.repeat(MAX_NAME_LENGTH + 1)],
    ['a long name that is also invalid', `/${'n'.repeat(MAX_NAME_LENGTH)}`],
  ])('refuses %s with 400 item_name_too_long', (_, name) => {
    const error = boxErrorFrom(() => checkItemName(name));
    expect([error.status, error.code]).toEqual([400, 'item_name_too_long']);
  });
});

describe('nameKey', () => {
  it.each([
    ['case', 'Report.PDF', 'report.pdf'],
    ['Unicode normalisation (a composed and a decomposed é)', 'caf\u00e9', 'cafe\u0301'],
  ])('makes names that differ only in %s clash', (_, a, b) => {
    expect(nameKey(a)).toBe(nameKey(b));
  });

  it('keeps names with different characters apart', () => {
    expect(nameKey('report-1.pdf')).not.toBe(nameKey('report-2.pdf'));
  });
});
