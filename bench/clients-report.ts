/** The clients part's table, headline lines and target (see clients.ts). */
import { CLIENT_LABELS, CLIENTS } from './clients.js';
import type { ThroughputRun } from './lib/context.js';
import { median, round } from './lib/stats.js';

const GiB = 2 ** 30;

function med(runs: readonly ThroughputRun[], pick: (run: ThroughputRun) => number | undefined): number | undefined {
  const values = runs.map(pick).filter((value): value is number => value !== undefined && Number.isFinite(value));
  return values.length === 0 ? undefined : median(values);
}

const fmt = (value: number | undefined, digits = 1) => (value === undefined || !Number.isFinite(value) ? 'n/a' : String(round(value, digits)));

/** The fastest client other than Partway's, by median MiB/s. */
function fastestOther(runs: readonly ThroughputRun[]): { name: string; mibPerSecond: number } | undefined {
  let best: { name: string; mibPerSecond: number } | undefined;
  for (const name of CLIENTS.filter((client) => client !== 'partway_cli')) {
    const value = med(runs.filter((run) => run.name === name), (run) => run.mibPerSecond);
    if (value !== undefined && (best === undefined || value > best.mibPerSecond)) best = { name, mibPerSecond: value };
  }
  return best;
}

export function clientsHeadlines(runs: readonly ThroughputRun[], fileSize: number): Array<[string, number | undefined]> {
  if (runs.length === 0) return [];
  const perGiB = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds / (fileSize / GiB));
  const lines: Array<[string, number | undefined]> = [];
  for (const name of CLIENTS) {
    const mine = runs.filter((run) => run.name === name);
    if (mine.length === 0) continue;
    lines.push([`clients_${name}_mb_s`, med(mine, (run) => run.mibPerSecond)]);
    lines.push([`clients_${name}_client_cpu_s_per_gib`, perGiB(med(mine, (run) => run.clientCpuSeconds))]);
    lines.push([`clients_${name}_server_cpu_s_per_gib`, perGiB(med(mine, (run) => run.serverCpuSeconds))]);
  }
  const partway = med(runs.filter((run) => run.name === 'partway_cli'), (run) => run.mibPerSecond);
  const fastest = fastestOther(runs);
  lines.push(['clients_ratio_vs_fastest_other', partway === undefined || fastest === undefined ? undefined : partway / fastest.mibPerSecond]);
  return lines;
}

export function clientsTargets(runs: readonly ThroughputRun[]): Array<{ target: string; value: string; met: boolean | undefined }> {
  if (runs.length === 0) return [];
  const partway = med(runs.filter((run) => run.name === 'partway_cli'), (run) => run.mibPerSecond);
  const fastest = fastestOther(runs);
  const ratio = partway === undefined || fastest === undefined ? undefined : partway / fastest.mibPerSecond;
  return [{
    target: 'partway upload >= 1.5 x the fastest other Box client (clients_ratio_vs_fastest_other)',
    value: `${fmt(ratio, 2)} (${fmt(partway)} MiB/s vs ${fastest ? `${fastest.name} ${fmt(fastest.mibPerSecond)}` : 'n/a'} MiB/s)`,
    met: ratio === undefined ? undefined : ratio >= 1.5,
  }];
}

export function renderClients(runs: readonly ThroughputRun[], fileSize: number): string[] {
  if (runs.length === 0) return [];
  const gib = fileSize / GiB;
  const lines = [
    '',
    `| Box client, same ${fmt(fileSize / 2 ** 20, 0)} MiB file, fresh \`partway serve\` (SQLite + disk) each run | median MiB/s | runs (MiB/s) | median s | client CPU s/GiB | server CPU s/GiB | TLS front CPU s/GiB | other CPU s |`,
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const name of CLIENTS) {
    const mine = runs.filter((run) => run.name === name);
    if (mine.length === 0) continue;
    const per = (value: number | undefined) => fmt(value === undefined ? undefined : value / gib, 2);
    lines.push(`| ${CLIENT_LABELS[name]} | ${fmt(med(mine, (r) => r.mibPerSecond))} | ${mine.map((r) => fmt(r.mibPerSecond)).join(', ')} | ${fmt((med(mine, (r) => r.ms) ?? Number.NaN) / 1000, 2)} `
      + `| ${per(med(mine, (r) => r.clientCpuSeconds))} | ${per(med(mine, (r) => r.serverCpuSeconds))} | ${name === 'rclone' ? per(med(mine, (r) => r.detail.frontCpuSeconds)) : '-'} | ${mine.map((r) => fmt(r.otherCpuSeconds)).join(', ')} |`);
  }
  lines.push('');
  lines.push('Time: the CLI and rclone from the command\'s start to its exit; the SDKs create → commit inside their script (no start-up). Client CPU: the CLI\'s and rclone\'s whole process; the SDK scripts\' CPU over the upload. '
    + 'Partway\'s server checks every part\'s Digest and the whole file\'s SHA-1 for every client; after each run the committed file\'s size and SHA-1 are checked (not timed).');
  return lines;
}
