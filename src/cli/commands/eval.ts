import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { colors, percent, printJson, renderTable, interactive } from '../output.js';
import { parseBackend, parsePositiveInt, parseThreshold } from '../options.js';
import type { EvalReport } from '../../model/evaluate.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('accuracy of a model on a folder of {digit}_{speaker}_{take}.wav files or a CSV manifest (file,label)')
    .argument('<target>', 'folder of FSDD-named WAV files, or a CSV manifest with header file,label (label 0-9 or none)')
    .option('-m, --model <file>', 'ONNX model (default: the shipped model)')
    .option('--split <name>', 'official FSDD split for folders: test | train | all', 'all')
    .option('--backend <name>', 'feature backend: auto | native | wasm', 'auto')
    .option('--threshold <p>', "rejection threshold (default: the model's calibrated value)")
    .option('--threads <n>', 'ONNX Runtime intra-op threads (1 measured fastest for batch eval on a busy 2-core machine)', '1')
    .option('--batch <n>', 'clips per ONNX Runtime run', '64')
    .option('--adapt-voice', "adapt to each speaker as a live session would: the speaker's clips in a seeded random order, each heard with the voice shift learnt from the earlier ones (no labels used)")
    .option('--json', 'print one JSON object')
    .action(async (target: string, opts) => {
      if (!['test', 'train', 'all'].includes(opts.split)) throw new InvalidArgumentError(`split '${opts.split}' must be test, train or all`);
      const [{ DigitRecognizer }, { evaluate, loadEvalSet }] = await Promise.all([import('../../model/recognizer.js'), import('../../model/evaluate.js')]);
      const recognizer = await DigitRecognizer.load({
        model: opts.model,
        backend: parseBackend(opts.backend),
        threshold: parseThreshold(opts.threshold),
        session: { intraOpNumThreads: parsePositiveInt('threads', opts.threads) },
      });
      const items = await loadEvalSet(target, opts.split);
      const report = await evaluate(recognizer, items, {
        batchSize: parsePositiveInt('batch', opts.batch),
        adaptVoice: Boolean(opts.adaptVoice),
        onProgress: interactive && !opts.json ? (done, total) => process.stderr.write(`\r${done}/${total} clips`) : undefined,
      });
      if (interactive && !opts.json) process.stderr.write('\r\x1b[K');
      await recognizer.dispose();
      if (opts.json) printJson(report);
      else printReport(report);
      if (report.errors.length > 0) process.exitCode = 2;
    });
}

function printReport(r: EvalReport): void {
  const lines: string[] = [];
  lines.push(`${colors.bold('model')}    ${r.model} (features: ${r.backend})`);
  lines.push(`${colors.bold('accuracy')} ${colors.green(percent(r.accuracy, 2))} on ${r.n} digit clips` + (r.nNone ? `, ${r.nNone} non-digit clips` : ''));
  lines.push(`false reject ${percent(r.falseReject, 2)}` + (r.falseAccept !== null ? `   false accept ${percent(r.falseAccept, 2)}   rejection rate on 'none' ${percent(r.rejectionRate, 2)}` : ''));
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
    for (const e of r.errors.slice(0, 20)) lines.push(`  ${e.path}: ${e.error}`);
  }
  console.log(lines.join('\n'));
}
