/**
 * Peer recognizer: CMU PocketSphinx (Debian `pocketsphinx`, en-us model) with a digits-only JSGF
 * grammar, on the same FSDD clips our model is evaluated on. Clips are upsampled to the model's
 * 16 kHz with sox first (the en-us acoustic model is 16 kHz); that conversion is not timed.
 * Usage: tsx bench/pocketsphinx.ts [--data DIR] [--split test|all] [--json]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { parseBenchArgs } from './args.js';
import { loadFsdd, officialSplit } from '../src/data/index.js';

const WORDS: Record<string, number> = { zero: 0, oh: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9 };
const MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

export interface PeerReport {
  peer: string;
  available: boolean;
  reason?: string;
  n: number;
  accuracy: number;
  noResult: number;
  msPerClip: number;
  perSpeaker: Record<string, number>;
}

export async function runPocketsphinx(dataDir: string | undefined, split: 'test' | 'all'): Promise<PeerReport> {
  const empty = { peer: 'pocketsphinx (en-us, digits JSGF)', n: 0, accuracy: 0, noResult: 0, msPerClip: 0, perSpeaker: {} };
  if (spawnSync('pocketsphinx_batch', ['-h'], { stdio: 'ignore' }).error || !existsSync(MODEL_DIR)) {
    return { ...empty, available: false, reason: 'pocketsphinx_batch or its en-us model is not installed (apt-get install pocketsphinx pocketsphinx-en-us)' };
  }
  const all = (await loadFsdd({ data: dataDir, download: false })).clips;
  const clips = split === 'test' ? officialSplit(all).test : all;
  const work = mkdtempSync(join(tmpdir(), 'sd-pocketsphinx-'));
  try {
    const ids = clips.map((c) => basename(c.path, '.wav'));
    clips.forEach((c, i) => execFileSync('sox', ['-R', c.path, '-r', '16000', '-b', '16', '-c', '1', join(work, `${ids[i]}.wav`)]));
    writeFileSync(join(work, 'digits.gram'), `#JSGF V1.0;\ngrammar digits;\npublic <digit> = ${Object.keys(WORDS).join(' | ')};\n`);
    writeFileSync(join(work, 'ctl'), ids.join('\n') + '\n');
    const started = performance.now();
    const run = spawnSync('pocketsphinx_batch', [
      '-hmm', join(MODEL_DIR, 'en-us'), '-dict', join(MODEL_DIR, 'cmudict-en-us.dict'), '-jsgf', join(work, 'digits.gram'),
      '-ctl', join(work, 'ctl'), '-cepdir', work, '-cepext', '.wav', '-adcin', 'yes', '-adchdr', '44', '-hyp', join(work, 'hyp'),
    ], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) return { ...empty, available: false, reason: `pocketsphinx_batch failed: ${run.stderr.split('\n').slice(-3).join(' ')}` };
    const hyp = new Map<string, string>();
    for (const line of readFileSync(join(work, 'hyp'), 'utf8').split('\n')) {
      const m = /^(.*?)\s*\((\S+)\s+-?\d+\)$/.exec(line.trim());
      if (m) hyp.set(m[2], m[1].trim());
    }
    let correct = 0, noResult = 0;
    const speaker: Record<string, [number, number]> = {};
    clips.forEach((c, i) => {
      const words = (hyp.get(ids[i]) ?? '').split(/\s+/).filter(Boolean);
      const digit = words.length === 1 ? WORDS[words[0]] : undefined;
      if (digit === undefined) noResult++;
      const ok = digit === c.digit;
      if (ok) correct++;
      speaker[c.speaker] ??= [0, 0];
      speaker[c.speaker][0]++;
      if (ok) speaker[c.speaker][1]++;
    });
    return {
      ...empty,
      available: true,
      n: clips.length,
      accuracy: correct / clips.length,
      noResult,
      msPerClip: (seconds * 1000) / clips.length,
      perSpeaker: Object.fromEntries(Object.entries(speaker).map(([k, [n, ok]]) => [k, ok / n])),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseBenchArgs(import.meta.url, { options: { data: { type: 'string' }, split: { type: 'string', default: 'test' }, json: { type: 'boolean' } } });
  const report = await runPocketsphinx(values.data, values.split === 'all' ? 'all' : 'test');
  if (values.json) console.log(JSON.stringify(report));
  else if (!report.available) console.log(`pocketsphinx unavailable: ${report.reason}`);
  else console.log(`${report.peer}: ${(100 * report.accuracy).toFixed(1)}% on ${report.n} clips (${report.noResult} without a single-digit result), ${report.msPerClip.toFixed(2)} ms/clip (one process, batch mode)`);
}
