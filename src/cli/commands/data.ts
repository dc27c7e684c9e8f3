import type { Command } from 'commander';
import type { DatasetInfo } from '../../data/info.js';
import { isFsdd, unreadableLines } from '../../data/clips.js';
import { shown } from '../../shown.js';
import { noteUnread } from '../text.js';

interface FetchCliOptions {
  data?: string;
  to?: string;
  force?: boolean;
  progress: boolean;
  json?: boolean;
}

interface InfoCliOptions {
  data?: string;
  json?: boolean;
}

const fmt = (s: number): string => `${s.toFixed(3)} s`;

function printInfo(info: DatasetInfo, colour: boolean): Promise<void> | void {
  const out: string[] = [];
  out.push(`${info.fsdd ? 'FSDD' : 'Recordings'} at ${info.dir}`);
  out.push(`source: ${info.source}${info.provenance ? ` (${info.provenance.source}, fetched ${info.provenance.fetchedAt}${info.provenance.syntheticNames ? ', speaker/take names made up (takes 0-4 from its test split where it has one), not the upstream files' : ''})` : ''}`);
  out.push(`clips: ${info.clips}${info.unreadable.length ? ` (${info.unreadable.length} of them unreadable, see below)` : ''}  official split: ${info.officialSplit.train} train / ${info.officialSplit.test} test (takes 0-4)`);
  out.push(`sample rates: ${Object.entries(info.sampleRates).map(([r, n]) => `${r} Hz x ${n}`).join(', ') || 'none'}`);
  out.push(`channels: ${Object.entries(info.channels).map(([c, n]) => `${c} x ${n}`).join(', ') || 'none'}`);
  const d = info.durationSec;
  out.push(d ? `duration: total ${(d.total / 60).toFixed(1)} min, min ${fmt(d.min)}, median ${fmt(d.median)}, mean ${fmt(d.mean)}, p95 ${fmt(d.p95)}, max ${fmt(d.max)}` : 'duration: n/a (no clip could be read)');
  if (info.unreadable.length) {
    const n = info.unreadable.length;
    out.push(`unreadable files: ${n}; remove or re-record them (or convert with sox or ffmpeg) before training on this folder:`);
    out.push(...unreadableLines(info.unreadable.map(({ file, reason }) => ({ file, message: reason }))).map(shown));
  }
  const { misnamed, folders } = info.unread;
  if (misnamed.length) out.push(`not counted: ${misnamed.length} .wav file${misnamed.length > 1 ? 's' : ''} not named {digit}_{speaker}_{take}.wav (${misnamed.slice(0, 3).map(shown).join(', ')}${misnamed.length > 3 ? ', ...' : ''})`);
  if (folders.length) out.push(`not counted: subfolders, which train, eval, compare and quantize do not read (${folders.slice(0, 3).map((f) => `${shown(f.name)}/ with ${f.wavs} .wav`).join(', ')}${folders.length > 3 ? ', ...' : ''})`);
  process.stdout.write(`${out.join('\n')}\n`);
  return printTable(info, colour);
}

async function printTable(info: DatasetInfo, colour: boolean): Promise<void> {
  const head = ['speaker', ...Array.from({ length: 10 }, (_, i) => String(i)), 'total'];
  const rows = Object.keys(info.perSpeakerDigit)
    .sort()
    .map((s) => [s, ...info.perSpeakerDigit[s].map(String), String(info.speakers[s])]);
  rows.push(['total', ...Array.from({ length: 10 }, (_, i) => String(info.digits[i] ?? 0)), String(info.clips)]);
  if (colour) {
    const { default: Table } = await import('cli-table3');
    const t = new Table({ head });
    t.push(...rows);
    process.stdout.write(`${t.toString()}\n`);
  } else {
    process.stdout.write(`${[head, ...rows].map((r) => r.join('\t')).join('\n')}\n`);
  }
}

export function register(program: Command): void {
  const data = program.command('data').description('The Free Spoken Digit Dataset: download it, describe it');

  data
    .command('fetch')
    .description('Make FSDD available: a local folder, else the upstream GitHub archive, else the Hugging Face parquet copies (resumable, verified)')
    .option('--data <dir>', 'copy FSDD from this folder into the cache, where every command finds it (or into --to), checked; nothing is downloaded then')
    .option('--to <dir>', 'install downloads here instead of the cache ($XDG_CACHE_HOME/spoken-digits/fsdd, else ~/.cache/spoken-digits/fsdd)')
    .option('--force', 'download or copy again even if a copy exists')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(async (opts: FetchCliOptions) => {
      const { fetchFsdd } = await import('../../data/fsdd.js');
      const log = opts.json ? undefined : (line: string): void => void process.stderr.write(`${line}\n`);
      const ds = await fetchFsdd({ data: opts.data, to: opts.to, force: opts.force, progress: opts.progress && !opts.json && process.stderr.isTTY, log });
      // The folder copied from: what of it was not copied.
      if (ds.givenRecordings !== undefined && !ds.kept) await noteUnread(ds.givenRecordings);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ dir: ds.dir, source: ds.source, clips: ds.clips.length, provenance: ds.provenance, failures: ds.failures, ...(ds.kept ? { kept: true } : {}) })}\n`);
      } else {
        process.stdout.write(`${isFsdd(ds.clips) ? 'FSDD' : 'Recordings'} ready: ${ds.clips.length} clips in ${ds.dir} (from ${ds.source})\n`);
      }
    });

  data
    .command('info')
    .description('Describe the local FSDD copy: clips per speaker and digit, sample rates, durations, where it came from')
    .option('--data <dir>', 'folder of {digit}_{speaker}_{take}.wav files (default: $SPOKEN_DIGITS_DATA, then the cache)')
    .option('--json', 'print one JSON object')
    .action(async (opts: InfoCliOptions) => {
      const [{ loadFsdd }, { datasetInfo }] = await Promise.all([import('../../data/fsdd.js'), import('../../data/info.js')]);
      const ds = await loadFsdd({ data: opts.data, download: false });
      const info = datasetInfo(ds);
      if (opts.json) process.stdout.write(`${JSON.stringify(info)}\n`);
      else await printInfo(info, Boolean(process.stdout.isTTY));
      // Described, but nothing in it can be trained or evaluated on.
      if (info.clips > 0 && info.unreadable.length === info.clips) process.exitCode = 2;
    });
}
