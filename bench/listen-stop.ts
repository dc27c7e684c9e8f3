/**
 * How long `digits listen` takes to exit after SIGTERM (or Ctrl-C) while a normalization adaptation
 * runs in its worker process: the built CLI (dist/) hears raw 8 kHz PCM on stdin (one FSDD speaker's
 * clips, 0.6 s apart, fed at 4x real time), and the signal comes once the adaptation the 10th digit
 * made due is under way (`digits listen` adapts every 10 digits, self-enrolling; its worker process
 * has started). A stop abandons the adaptation (cancelAdaptation) instead of waiting the 0.5-2 s it takes.
 *
 *   npm run build:ts && npx tsx bench/listen-stop.ts [--runs 5] [--speaker theo] [--signal SIGTERM|SIGINT] [--no-adapt] [--json]
 *
 * --no-adapt: the same without normalization adaptation (`--no-adapt-norm`), what a stop costs anyway.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { float32ToInt16, readWavFileSync } from '../src/audio/index.js';
import { listFsddClips } from '../src/data/index.js';
import { percentiles } from '../src/model/benchmark.js';
import { BenchArgs, failWithUsage } from './args.js';
import { SHARED_RECORDINGS } from './data.js';
import { childPids } from '../test/fixtures/processes.js';

const args = new BenchArgs(import.meta.url, { runs: { type: 'string' }, speaker: { type: 'string' }, signal: { type: 'string' }, 'no-adapt': { type: 'boolean' }, json: { type: 'boolean' } });
const runs = args.number('runs', 5);
const speaker = args.values.speaker ?? 'theo';
const signal = (args.values.signal ?? 'SIGTERM') as NodeJS.Signals;
if (signal !== 'SIGTERM' && signal !== 'SIGINT') failWithUsage(import.meta.url, `--signal must be SIGTERM or SIGINT, got ${signal}`);
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) failWithUsage(import.meta.url, 'dist/cli.js is missing: run `npm run build:ts` first');

const RATE = 8000;
const clips = listFsddClips(SHARED_RECORDINGS).filter((c) => c.speaker === speaker && c.take < 3);
if (clips.length < 12) failWithUsage(import.meta.url, `speaker ${speaker} has ${clips.length} clips with takes 0-2; 12 or more are needed`);
const pause = new Float32Array(0.6 * RATE);
const parts = [pause, ...clips.flatMap((c) => [readWavFileSync(c.path).samples, pause])];
const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
parts.reduce((at, p) => (samples.set(p, at), at + p.length), 0);
const pcm = Buffer.from(float32ToInt16(samples).buffer);

interface Run {
  /** From the signal to the process's exit. */
  exitMs: number;
  code: number | null;
  /** Whether the end event came (the stream was closed, not cut off). */
  ended: boolean;
  /** Whether an adaptation was reported after the signal (it was waited for). */
  adaptedAfter: boolean;
  /** Whether the adaptation's worker process ran when the signal came (it was under way). */
  adapting: boolean;
}

function once(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'listen', '--input', '-', '--rate', String(RATE), '--json', ...(args.flag('no-adapt') ? ['--no-adapt-norm'] : [])], { stdio: ['pipe', 'pipe', 'ignore'] });
    const bytesPer100ms = (RATE / 10) * 2 * 4; // 4x real time
    let at = 0;
    const feed = setInterval(() => {
      if (at < pcm.length) child.stdin.write(pcm.subarray(at, (at += bytesPer100ms)));
    }, 100);
    child.stdin.on('error', () => undefined); // the pipe closes when it exits
    let buffered = '';
    let digits = 0;
    let signalledAt = 0;
    let ended = false;
    let adaptedAfter = false;
    let adapting = false;
    // After the 10th digit: the signal once the adaptation's worker runs (at most 3 s on), or at once without adapting.
    const signalWhenAdapting = (since = performance.now()): void => {
      adapting = childPids(child.pid!, 'adapt-worker').length > 0;
      if (args.flag('no-adapt') || adapting || performance.now() - since > 3000) {
        signalledAt = performance.now();
        child.kill(signal);
      } else setTimeout(() => signalWhenAdapting(since), 5);
    };
    child.stdout.on('data', (d: Buffer) => {
      buffered += d;
      for (let i; (i = buffered.indexOf('\n')) >= 0; buffered = buffered.slice(i + 1)) {
        const event = JSON.parse(buffered.slice(0, i)) as { type: string };
        if (event.type === 'end') ended = true;
        if (event.type === 'normadapt' && signalledAt) adaptedAfter = true;
        if (event.type === 'digit' && ++digits === 10) signalWhenAdapting();
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(feed);
      if (!signalledAt) reject(new Error(`digits listen ended before its 10th digit (${digits} heard, exit ${code})`));
      else resolve({ exitMs: performance.now() - signalledAt, code, ended, adaptedAfter, adapting });
    });
  });
}

const results: Run[] = [];
for (let i = 0; i < runs; i++) results.push(await once());
const exits = results.map((r) => r.exitMs);
const report = { signal, speaker, runs, adapting: !args.flag('no-adapt'), exitMs: { ...percentiles(exits), max: Math.max(...exits) }, codes: [...new Set(results.map((r) => r.code))], ended: results.every((r) => r.ended), adaptedAfterSignal: results.filter((r) => r.adaptedAfter).length, adaptingAtSignal: results.filter((r) => r.adapting).length };
if (args.flag('json')) console.log(JSON.stringify(report));
else
  console.log(
    `digits listen${report.adapting ? '' : ' --no-adapt-norm'}, ${signal} after the 10th digit${report.adapting ? ', its adaptation under way' : ''}: exit p50 ${report.exitMs.p50.toFixed(0)} ms, max ${report.exitMs.max.toFixed(0)} ms over ${runs} runs; ` +
      `exit code ${report.codes.join('/')}, end event ${report.ended ? 'always' : 'not always'}, an adaptation under way at the signal in ${report.adaptingAtSignal}, reported after it in ${report.adaptedAfterSignal}`,
  );
