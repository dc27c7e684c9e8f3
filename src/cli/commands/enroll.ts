import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { EnrollmentError } from '../../errors.js';
import type { EnrollmentClip, EnrollmentScore } from '../../model/enroll.js';
import { DIGIT_WORDS } from '../../stream/count-tally.js';
import { colors, percent, printJson, renderTable } from '../output.js';
import type { BackendChoice } from '../../features/index.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { addMicrophoneOptions, decimal, parseBackend, parseMicrophoneOptions, parsePositiveInt, refuseGiven } from '../options.js';
import { resolveModelPath } from '../../model/package-root.js';

/** A name that is a digit or a digit word, alone or followed by a separator: 7.wav, 7_me_2.wav, seven-1.wav, 7/. */
const LABELLED = new RegExp(`^(\\d|${DIGIT_WORDS.join('|')})(?:$|[-_. ])`, 'i');

/** The digit a recording's path says it holds: its file name, else its folder's name; null when neither does. */
export function digitOfPath(path: string): number | null {
  for (const name of [basename(path, extname(path)), basename(dirname(path))]) {
    const m = LABELLED.exec(name);
    if (m) return /\d/.test(m[1]) ? Number(m[1]) : DIGIT_WORDS.indexOf(m[1].toLowerCase());
  }
  return null;
}

/** WAV files named by the arguments (folders: every .wav under them; CSV: its rows), each with its digit. */
export async function labelledClips(targets: string[]): Promise<EnrollmentClip[]> {
  const files: { path: string; digit: number | null }[] = [];
  for (const target of targets) {
    let isDir: boolean;
    try {
      isDir = statSync(target).isDirectory();
    } catch {
      throw new EnrollmentError(`${target}: no such file or folder`);
    }
    if (isDir) {
      const wavs = (readdirSync(target, { recursive: true }) as string[]).filter((f) => f.toLowerCase().endsWith('.wav')).sort();
      files.push(...wavs.map((f) => ({ path: join(target, f), digit: digitOfPath(join(target, f)) })));
    } else if (target.toLowerCase().endsWith('.csv')) {
      const { loadEvalSet } = await import('../../model/evaluate.js');
      for (const item of await loadEvalSet(target)) {
        if (item.label === 'none') throw new EnrollmentError(`${target}: ${item.path} is labelled 'none'; enrollment takes digits only`);
        files.push({ path: item.path, digit: item.label });
      }
    } else files.push({ path: target, digit: digitOfPath(target) });
  }
  if (files.length === 0) throw new EnrollmentError(`no .wav files in ${targets.join(', ')}`);
  const unlabelled = files.filter((f) => f.digit === null).map((f) => f.path);
  if (unlabelled.length)
    throw new EnrollmentError(
      `cannot tell which digit ${unlabelled.length === 1 ? 'this recording holds' : `these ${unlabelled.length} recordings hold`}: ${unlabelled.slice(0, 5).join(', ')}${unlabelled.length > 5 ? ', ...' : ''}. ` +
        'Name each file or its folder by the digit (7.wav, 7_anna_1.wav, seven-2.wav, 7/take1.wav), or list them in a CSV manifest with the header file,label',
    );
  return files.map((f) => ({ input: f.path, digit: f.digit as number }));
}

export function register(program: Command): void {
  addMicrophoneOptions(program.command('enroll'))
    .description(
      "personalize a model to one speaker from labelled recordings of them saying the digits (each digit at least once; 2-3 times gives a cross-checked estimate), or from a recording of them counting from zero to nine: refits the model's last layer and writes a personal model file",
    )
    .argument('[recordings...]', 'WAV files or folders named by their digit (7.wav, 7_anna_1.wav, seven-2.wav, 7/take1.wav), or a CSV manifest (file,label)')
    .requiredOption('-o, --out <file>', 'personal ONNX model to write (use it with --model in predict, listen and eval)')
    .option('--counting [file]', 'instead of recordings: a WAV of the speaker counting from zero to nine (any number of times) with a short pause after each digit; without a file, record the count from the microphone')
    .option('--repeats <n>', 'with --counting: how many times the speaker counts (default: 2 from the microphone, from the words heard in a file)')
    .option('-m, --model <file>', 'model to personalize: a file, or a shipped model by name (default: default)')
    .option('--speaker <name>', "the speaker's name, recorded in the model's metadata")
    .option('--backend <name>', 'feature backend: auto | native | wasm', 'auto')
    .option('--l2 <x>', 'how strongly the refit holds to the trained weights', '0.1')
    .option('--steps <n>', 'gradient steps of the refit', '300')
    .option('--json', 'print one JSON object')
    .action(async (recordings: string[], opts, command: Command) => {
      const l2 = decimal(opts.l2);
      if (!(l2 >= 0 && Number.isFinite(l2))) throw new InvalidArgumentError(`l2 '${opts.l2}' must be a number >= 0`);
      const steps = parsePositiveInt('steps', opts.steps);
      const backend = parseBackend(opts.backend);
      if (recordings.length > 0 === (opts.counting !== undefined))
        throw new EnrollmentError('give either labelled recordings or --counting (a recording of the speaker counting from zero to nine)');
      if (opts.counting === undefined) refuseGiven(command, ['repeats'], '--counting (how many times the speaker counts)');
      if (opts.counting !== true) refuseGiven(command, ['device', 'captureRate', 'captureLatency'], 'the microphone (--counting without a file)');
      const [{ enrollSpeaker }, { defaultModelPath }] = await Promise.all([import('../../model/enroll.js'), import('../../model/recognizer.js')]);
      const base = opts.model === undefined ? defaultModelPath() : resolveModelPath(opts.model);
      checkOutFile(opts.out, [base], 'the model being personalized');
      const clips = opts.counting === undefined ? await labelledClips(recordings) : await countedClips(opts.counting, base, backend, opts);
      const enrollment = await enrollSpeaker(clips, { model: base, backend, l2, steps, speaker: opts.speaker });
      await writeOutFile(opts.out, enrollment.model);
      const { model: _bytes, ...report } = enrollment;
      if (opts.json) {
        printJson({ out: opts.out, base, bytes: enrollment.model.length, ...report });
        return;
      }
      const score = (s: EnrollmentScore) => `${percent(s.accuracy)} (${s.correct}/${s.clips})`;
      console.log(renderTable(['digit', ...'0123456789'], [['clips', ...enrollment.clipsPerDigit]]));
      console.log(`on the enrollment clips themselves: ${score(enrollment.fit.before)} before, ${score(enrollment.fit.after)} after (a fit, not a forecast)`);
      if (enrollment.crossCheck)
        console.log(
          `cross-checked (${enrollment.crossCheck.folds} folds, each scored by a model refitted without it): ${score(enrollment.crossCheck.before)} before, ${colors.bold(score(enrollment.crossCheck.after))} after`,
        );
      else console.log(colors.dim('say each digit 2-3 times for a cross-checked estimate of the gain'));
      if (enrollment.voiceShift !== 1) console.log(`the voice is heard at x${enrollment.voiceShift} (pitch and formants), where the model knew it best`);
      console.log(`wrote ${opts.out} (${enrollment.heads} layer${enrollment.heads > 1 ? 's' : ''} refitted, ${enrollment.model.length} bytes); use it with --model, e.g. digits listen --model ${opts.out}`);
    });
}

/** Clips cut from a count of zero to nine: a WAV file, or (`--counting` without a file) the microphone. */
async function countedClips(
  counting: string | true,
  model: string,
  backend: BackendChoice,
  opts: { repeats?: string; device?: string; captureRate?: string; captureLatency?: string; json?: boolean },
): Promise<EnrollmentClip[]> {
  const [stream, { DigitRecognizer }] = await Promise.all([import('../../stream/index.js'), import('../../model/recognizer.js')]);
  const live = counting === true;
  const repeats = opts.repeats === undefined ? (live ? 2 : undefined) : parsePositiveInt('repeats', opts.repeats);
  const source = live ? await stream.openMicrophone(parseMicrophoneOptions(opts)) : await stream.openFileSource(counting);
  const recognizer = await DigitRecognizer.load({ model, backend });
  const say = (text: string) => !opts.json && process.stderr.write(text);
  if (live) say(`Count from zero to nine${repeats! > 1 ? `, ${repeats} times,` : ''} with a short pause after each digit.\n`);
  try {
    const { clips } = await stream.recordCounting(source, {
      recognizer,
      repeats,
      onPiece: (p) => {
        const heard = `heard ${p.heard ?? 'no digit'} (${percent(p.confidence, 0)})`;
        say(`  ${p.digit}  ${p.heard === p.digit ? colors.green(heard) : colors.yellow(heard)}\n${p.digit === 9 ? '\n' : ''}`);
      },
    });
    return clips;
  } finally {
    await recognizer.dispose();
  }
}

