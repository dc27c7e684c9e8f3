/**
 * Digit strings spoken by voices the model never heard: each leave-one-speaker-out fold's model (its
 * members fused, as the shipped default is) streams strings of the one speaker it was not trained on
 * (bench/stream.ts --speakers S: that speaker's FSDD test clips joined with 120-450 ms pauses). The
 * strings figure bench/stream.ts gives for the shipped model is on its own training speakers' voices.
 *
 *   npx tsx bench/stranger-strings.ts --runs 'runs/loso-{speaker},runs/loso-mfcc-{speaker}'
 *       [--strings 40] [--threshold 0.3648] [--split JSON] [--seed 2024] [--adapt-voice] [--adapt-norm] [--norm-options JSON] [--enroll N] [--json] [--help]
 *
 * --runs: the members, comma-separated; each member's fold model is <member>/<speaker>/model.onnx
 * (`digits train --loso S --fold-models`), `{speaker}` in a member's path standing for the held-out
 * speaker when each fold ran into its own folder. Every speaker with a model in every member is
 * measured. --threshold: the rejection threshold for every fold (default: the shipped model's, since a
 * fold model's own is calibrated on the voices it trained on); --split: the Listener's split options,
 * as bench/stream.ts takes them; --adapt-voice: each speaker's Listener learns a voice shift as it goes
 * (bench/stream.ts --adapt-voice); --adapt-norm: the same for the model's normalization (NormAdapter), the
 * fold model's normalization targets measured first on its own training clips (the other five speakers), with
 * --norm-options its NormAdapterOptions as JSON; --enroll N: each fold model is first personalized to its speaker
 * (`enrollSpeaker`, as `digits enroll`) with his N highest takes of each digit (takes 45-49 for N = 5;
 * the strings are made of his test takes 0-4, so none is both).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFsddClips } from '../src/data/clips.js';
import { enrollSpeaker } from '../src/model/enroll.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { fuseEnsemble } from '../src/train/onnx/fuse.js';
import { withMeasuredNormTargets } from '../src/model/norm-targets.js';
import { BenchArgs } from './args.js';
import { FSDD_RECORDINGS } from '../test/fsdd.js';
import { SPEAKERS } from '../test/stream/fixtures.js';

const args = new BenchArgs(import.meta.url, {
  runs: { type: 'string' },
  strings: { type: 'string' },
  threshold: { type: 'string' },
  split: { type: 'string' },
  seed: { type: 'string' },
  'adapt-voice': { type: 'boolean' },
  'adapt-norm': { type: 'boolean' },
  'norm-options': { type: 'string' },
  enroll: { type: 'string' },
  json: { type: 'boolean' },
});
const runs = args.string('runs') ?? args.fail('--runs is required');
const members = runs.split(',').map((m) => m.trim()).filter(Boolean);
const nStrings = args.number('strings', 40);
const split = args.json('split');
const seed = args.number('seed', 2024);
const json = args.flag('json');
const adaptVoice = args.flag('adapt-voice');
const adaptNorm = args.flag('adapt-norm');
// NormAdapterOptions for --adapt-norm, as JSON (bench/stream.ts --norm-options).
const normOptions = args.string('norm-options');
const enrollTakes = args.number('enroll', 0);
if (!(Number.isInteger(enrollTakes) && enrollTakes >= 0 && enrollTakes <= 45)) args.fail(`--enroll ${enrollTakes} must be 0-45 takes per digit`);
let threshold = args.number('threshold');
if (threshold === undefined) {
  const shipped = await DigitRecognizer.load();
  threshold = shipped.threshold;
  await shipped.dispose();
}

const modelOf = (member: string, speaker: string) => join(member.replaceAll('{speaker}', speaker), speaker, 'model.onnx');
const speakers = SPEAKERS.filter((s) => members.every((m) => existsSync(modelOf(m, s))));
if (speakers.length === 0) args.fail(`no speaker has a fold model in every member (looked for ${modelOf(members[0], SPEAKERS[0])} and the like)`);

const work = mkdtempSync(join(tmpdir(), 'sd-stranger-'));
const rows: { speaker: string; digits: number; digitErrorRate: number; wholeStringAccuracy: number; misheard: { spoken: string; heard: string }[]; enrolledShift?: number }[] = [];
try {
  for (const speaker of speakers) {
    const models = members.map((m) => new Uint8Array(readFileSync(modelOf(m, speaker))));
    const file = join(work, `${speaker}.onnx`);
    const joined = models.length > 1 ? fuseEnsemble(models, { sources: members.map((m) => modelOf(m, speaker)) }) : models[0];
    const fused = adaptNorm
      ? await withMeasuredNormTargets(joined, listFsddClips(FSDD_RECORDINGS).filter((c) => c.speaker !== speaker).map((c) => c.path), `FSDD without ${speaker}`)
      : joined;
    let enrolledShift: number | undefined;
    if (enrollTakes > 0) {
      const clips = listFsddClips(FSDD_RECORDINGS).filter((c) => c.speaker === speaker && c.take >= 50 - enrollTakes);
      const personal = await enrollSpeaker(
        clips.map((c) => ({ input: c.path, digit: c.digit })),
        { model: fused, speaker, crossCheck: false },
      );
      enrolledShift = personal.voiceShift;
      writeFileSync(file, personal.model);
    } else writeFileSync(file, fused);
    const bench = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/stream.ts', '--model', file, '--threshold', String(threshold), '--speakers', speaker, '--strings', String(nStrings), '--seed', String(seed),
        '--false-hours', '0', '--soak-minutes', '0', '--idle-seconds', '0', '--json', ...(split ? ['--split', JSON.stringify(split)] : []), ...(adaptVoice ? ['--adapt-voice'] : []), ...(adaptNorm ? ['--adapt-norm'] : []), ...(normOptions ? ['--norm-options', normOptions] : [])],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    if (bench.status !== 0) throw new Error(`bench/stream.ts for ${speaker} failed:\n${bench.stderr}`);
    const s = JSON.parse(bench.stdout.slice(bench.stdout.indexOf('{'))).strings;
    rows.push({ speaker, digits: s.digits, digitErrorRate: s.digitErrorRate, wholeStringAccuracy: s.wholeStringAccuracy, misheard: s.misheard, ...(enrolledShift === undefined ? {} : { enrolledShift }) });
    if (!json)
      console.log(
        `${speaker.padEnd(10)} ${String(s.digits).padStart(4)} digits  ${(100 * s.digitErrorRate).toFixed(1).padStart(5)}% digit errors  ${(100 * s.wholeStringAccuracy).toFixed(1).padStart(5)}% whole strings${enrolledShift === undefined ? '' : `  (enrolled, x${enrolledShift})`}`,
      );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const digits = rows.reduce((a, r) => a + r.digits, 0);
const pooled = {
  speakers: rows.length,
  digits,
  // Digit errors over all digits; whole strings, the mean of the speakers' shares (the same number of strings each).
  digitErrorRate: +(rows.reduce((a, r) => a + r.digitErrorRate * r.digits, 0) / digits).toFixed(4),
  wholeStringAccuracy: +(rows.reduce((a, r) => a + r.wholeStringAccuracy, 0) / rows.length).toFixed(4),
};
if (json) console.log(JSON.stringify({ members, threshold, strings: nStrings, seed, split: split ?? null, adaptVoice, adaptNorm, enroll: enrollTakes, perSpeaker: rows, pooled }, null, 2));
else console.log(`${'all'.padEnd(10)} ${String(digits).padStart(4)} digits  ${(100 * pooled.digitErrorRate).toFixed(1).padStart(5)}% digit errors  ${(100 * pooled.wholeStringAccuracy).toFixed(1).padStart(5)}% whole strings (threshold ${threshold})`);
