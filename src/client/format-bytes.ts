/**
 * Sizes for people, shared by the CLI and the web uploader (no imports, no I/O): binary units
 * (KiB, MiB, GiB), one decimal above bytes. One system for both, so a size reads the same in the
 * terminal and on the page, and matches the part sizes (8 MiB) that Box's protocol is built on.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `1536` → `"1.5 KiB"`; `"–"` for what is not a size. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${UNITS[unit]}`;
}
