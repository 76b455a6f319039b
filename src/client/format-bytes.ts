/**
 * Sizes for people, shared by the CLI and the web uploader (no imports, no I/O). One rule for both:
 * one decimal above bytes. The unit system is the caller's: the CLI counts in KiB/MiB like other
 * command-line tools, the page in kB/MB like file managers and browsers' download lists.
 */

export type ByteUnits = 'binary' | 'decimal';

const UNITS: Record<ByteUnits, { step: number; names: readonly string[] }> = {
  binary: { step: 1024, names: ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] },
  decimal: { step: 1000, names: ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] },
};

/** `1536` → `"1.5 KiB"` (binary) or `"1.5 kB"` (decimal); `"–"` for what is not a size. */
export function formatBytes(bytes: number, units: ByteUnits): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  const { step, names } = UNITS[units];
  let value = bytes;
  let unit = 0;
  while (value >= step && unit < names.length - 1) {
    value /= step;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${names[unit]}`;
}
