import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { DatasetError } from '../../errors.js';
import { colors, percent, printJson, renderTable, interactive, shown } from '../output.js';
import { noteUnread } from '../text.js';
import { checkSplitTarget, decimal, MAX_THREADS, parseBackend, parsePositiveInt, parseThreshold, recordingsFolder } from '../options.js';
import type { BabbleOptions, EvalItem, EvalReport } from '../../model/evaluate.js';
import type { DigitRecognizer } from '../../model/recognizer.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('accuracy of a model on a folder of {digit}_{speaker}_{take}.wav files or a CSV manifest (file,label)')
    .argument('[target]', "folder of FSDD-named WAV files (or one holding them in recordings/), or a CSV manifest with header file,label (label 0-9 or none); default: the local FSDD copy (digits data fetch), its test split")
    .option('--data <dir>', 'the FSDD folder to evaluate when no target is given (instead of $SPOKEN_DIGITS_DATA or the cache), its test split unless --split says')
    .option('-m, --model <file>', 'ONNX model file, or a shipped model by name: default, small (default: default)')
    .addOption(new Option('--split <name>', 'official FSDD split for folders: test | train | all').default('all', 'all of a folder given, the test split of the local copy'))
    .option('--backend <name>', 'feature backend: auto | native | wasm', 'auto')
    .option('--threshold <p>', "rejection threshold (default: the model's calibrated value)")
    .option('--threads <n>', 'ONNX Runtime intra-op threads (1 measured fastest for batch eval on a busy 2-core machine)', '1')
    .option('--batch <n>', 'clips per ONNX Runtime run', '64')
    .option('--adapt-voice', "adapt to each speaker as a live session would: the speaker's clips in a seeded random order, each heard with the voice shift learnt from the earlier ones (no labels used)")
    .option('--adapt-norm', "adapt the model's normalization to each speaker as a live session would: the speaker's clips in a seeded random order, each recognised with the model adapted on the earlier ones (every 10, on the last 50; no labels used)")
    .option('--self-enroll', "with --adapt-norm: also refit the model's last layers on each adaptation's clips, each labelled with the digit the adapted model hears in it, as digits listen does (every 10, on the last 200; no labels used)")
    .option('--speakers <names>', 'only these speakers\' clips, comma-separated (e.g. the speaker a leave-one-speaker-out fold model never heard)')
    .option('--babble <snr>', 'mix each clip with babble of 3-7 other talkers at this SNR in dB (seeded: the model cards\' babble figures for --split test)')
    .option('--babble-pool <dir>', "folder of FSDD-named WAV files whose official train split the babble is made of (default: the target folder's, with --split test)")
    .option('--json', 'print one JSON object')
    .action(async (given: string | undefined, opts, command: Command) => {
      checkSplitTarget(given, command);
      let target: string;
      if (given !== undefined && opts.data !== undefined) throw new InvalidArgumentError('give the folder to evaluate either as the target or as --data, not both');
      if (given === undefined) {
        const { loadFsdd } = await import('../../data/index.js');
        target = (await loadFsdd({ download: false, data: opts.data })).dir;
        if (command.getOptionValueSource('split') !== 'cli') opts.split = 'test';
        process.stderr.write(`evaluating the ${opts.split} split of ${shown(target)}\n`);
      } else target = await recordingsFolder(given);
      if (opts.babblePool !== undefined && opts.babble === undefined) throw new InvalidArgumentError('--babble-pool is the babble of --babble SNR; give --babble too');
      if (opts.selfEnroll && !opts.adaptNorm) throw new InvalidArgumentError('--self-enroll refits the model after each normalization adaptation: use it with --adapt-norm');
      const [{ DigitRecognizer }, { evaluate, loadEvalSet }] = await Promise.all([import('../../model/recognizer.js'), import('../../model/evaluate.js')]);
      const recognizer = await DigitRecognizer.load({
        model: opts.model,
        backend: parseBackend(opts.backend),
        threshold: parseThreshold(opts.threshold),
        session: { intraOpNumThreads: parsePositiveInt('--threads', opts.threads, MAX_THREADS) },
      });
      const items = onlySpeakers(await loadEvalSet(target, opts.split), opts.speakers);
      await noteUnread(target);
      const babble = opts.babble === undefined ? undefined : await babbleOptions(recognizer, items, target, opts);
      const report = await evaluate(recognizer, items, {
        batchSize: parsePositiveInt('batch', opts.batch),
        adaptVoice: Boolean(opts.adaptVoice),
        adaptNorm: opts.adaptNorm ? (opts.selfEnroll ? { selfEnroll: true } : true) : false,
        babble,
        onProgress: interactive && !opts.json ? (done, total) => process.stderr.write(`\r${done}/${total} clips`) : undefined,
      });
      if (interactive && !opts.json) process.stderr.write('\r\x1b[K');
      await recognizer.dispose();
      if (opts.json) printJson(report);
      else printReport(report);
      if (report.errors.length > 0) process.exitCode = 2;
    });
}

function onlySpeakers(items: EvalItem[], list?: string): EvalItem[] {
  if (list === undefined) return items;
  const wanted = list.split(',').map((x) => x.trim()).filter(Boolean);
  const known = new Set(items.map((it) => it.speaker));
  const unknown = wanted.filter((w) => !known.has(w));
  if (wanted.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`--speakers: ${unknown.length ? `no clips of ${unknown.join(', ')}` : 'no names given'}; the set has ${[...known].sort().join(', ')}`);
  return items.filter((it) => wanted.includes(it.speaker));
}

/** --babble / --babble-pool: the pool is an FSDD folder's official train split, disjoint from the clips evaluated. */
async function babbleOptions(recognizer: DigitRecognizer, items: EvalItem[], target: string, opts: { babble: string; babblePool?: string; split: string; adaptVoice?: boolean }): Promise<BabbleOptions> {
  const snrDb = decimal(opts.babble);
  if (!Number.isFinite(snrDb)) throw new InvalidArgumentError(`--babble '${opts.babble}' must be an SNR in dB, e.g. 5`);
  if (opts.adaptVoice) throw new InvalidArgumentError('--babble and --adapt-voice cannot be used together');
  const poolDir = opts.babblePool ?? (opts.split === 'test' ? target : undefined);
  if (poolDir === undefined) throw new InvalidArgumentError('--babble needs --babble-pool DIR (an FSDD folder whose train split to mix), or an FSDD folder evaluated with --split test');
  const { listFsddClips, officialSplit, loadClip } = await import('../../data/index.js');
  let clips;
  try {
    clips = officialSplit(listFsddClips(poolDir)).train;
  } catch (err) {
    throw new DatasetError(`--babble-pool ${poolDir}: ${(err as Error).message}`, { cause: err });
  }
  if (clips.length === 0) throw new DatasetError(`--babble-pool ${poolDir} has no FSDD-named clips in its train split`);
  const evaluated = new Set(items.map((it) => resolve(it.path)));
  if (clips.some((c) => evaluated.has(resolve(c.path)))) throw new DatasetError(`--babble-pool ${poolDir}: its train split holds clips being evaluated; babble must come from other clips`);
  const sampleRate = recognizer.info.featureConfig.sampleRate;
  return { snrDb, pool: clips.map((c) => loadClip(c, { sampleRate, backend: recognizer.backend }).samples) };
}

function printReport(r: EvalReport): void {
  const lines: string[] = [];
  lines.push(`${colors.bold('model')}    ${r.model} (features: ${r.backend})`);
  const mixed = r.babble ? ` in babble at ${r.babble.snrDb} dB (${r.babble.poolClips} other clips, seed ${r.babble.seed})` : '';
  // Without digit clips there is no accuracy or false reject to give (null in --json), only the 'none' clips' figures.
  const share = (x: number | null) => (x === null ? 'n/a' : percent(x, 2));
  lines.push(`${colors.bold('accuracy')} ${r.accuracy === null ? share(null) : colors.green(share(r.accuracy))} on ${r.n} digit clips` + (r.nNone ? `, ${r.nNone} non-digit clips` : '') + mixed);
  lines.push(`false reject ${share(r.falseReject)}` + (r.falseAccept !== null ? `   false accept ${share(r.falseAccept)}   rejection rate on 'none' ${share(r.rejectionRate)}` : ''));
  lines.push(`${r.clipsPerSec.toFixed(0)} clips/s (${r.seconds.toFixed(2)} s, decode + features + model)`);
  lines.push('');
  lines.push(renderTable(['digit', 'n', 'accuracy'], Object.entries(r.perClass).map(([k, s]) => [k, s.n, percent(s.accuracy)])));
  lines.push('');
  const shifts = r.voiceShift?.perSpeaker;
  lines.push(
    renderTable(
      ['speaker', 'n', 'accuracy', ...(shifts ? ['voice shift'] : [])],
      Object.entries(r.perSpeaker).map(([k, s]) => [k, s.n, percent(s.accuracy), ...(shifts ? [`x${(shifts[k] ?? 1).toFixed(2)}`] : [])]),
    ),
  );
  if (r.voiceShift) lines.push(`voice adaptation: ${r.voiceShift.protocol}`);
  if (r.normAdaptation) lines.push(`normalization adaptation (every ${r.normAdaptation.every} clips, on the last ${r.normAdaptation.window}${r.normAdaptation.selfEnroll ? ', last layers refitted on what it heard' : ''}): ${r.normAdaptation.protocol}`);
  lines.push('');
  const predicted = [...'0123456789', 'rejected'];
  lines.push('confusion (rows: truth, columns: predicted)');
  lines.push(
    renderTable(
      ['', ...predicted.map((p) => (p === 'rejected' ? 'rej' : p))],
      Object.keys(r.confusion)
        .sort()
        .map((truth) => [truth, ...predicted.map((p) => r.confusion[truth][p] ?? 0)]),
    ),
  );
  if (r.errors.length > 0) {
    lines.push('');
    lines.push(colors.red(`${r.errors.length} clips could not be evaluated:`));
    for (const e of r.errors.slice(0, 20)) lines.push(`  ${shown(e.path)}: ${shown(e.error)}`);
  }
  console.log(lines.join('\n'));
}
