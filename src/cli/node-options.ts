/**
 * The Node options `partway serve` runs with: the bin's shebang and `npm start` pass them, and
 * operators who start `node dist/cli/main.js serve` themselves should too (or set NODE_OPTIONS).
 *
 * Why: Node's HTTP parser hands each ~64 KiB body chunk over in an ArrayBuffer of its own, and V8
 * frees those only when it collects garbage. With V8's default 16 MiB semi-spaces, a big upload
 * streaming in set off a full mark-compact about every 100 ms (30–40 per GiB, the old generation's
 * limit crossed by chunks already dead); with 8 MiB semi-spaces a cheap scavenge frees them first:
 * 1 mark-compact per GiB, about a fifth less server CPU, and no loss in metadata requests per
 * second (4 MiB cost 5 % there). Figures in bench/RESULTS.md.
 */
export const SERVER_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=8'];

/**
 * The server options whose setting is absent from this process's command line and NODE_OPTIONS (an
 * operator who chose another value for one has not forgotten it).
 */
export function missingServerNodeOptions(): string[] {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map(nameOf);
  return SERVER_NODE_OPTIONS.filter((option) => !given.includes(nameOf(option)));
}

/** `--max-semi-space-size` of `--max-semi-space-size=8`; V8 also spells it with underscores. */
function nameOf(option: string): string {
  return option.split('=')[0]!.replace(/_/g, '-');
}
