import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModelProto, encodeModelProto } from '../src/train/onnx/proto.js';
import { FSDD_RECORDINGS } from './fsdd.js';
import { monoWav } from './fixtures/wav.js';

// Bad-input matrix for the CLI: every command gets missing files, folders without audio, corrupt
// WAVs, files that are not ONNX models, NaN audio and nonsense options. Each must end with exit
// code != 0, exactly one line on stderr starting "digits:" that names the problem, and no stack
// trace (unless --verbose). Nothing may hang: every run has a deadline.

const work = mkdtempSync(join(tmpdir(), 'sd-badcli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const clip = join(FSDD_RECORDINGS, '3_theo_0.wav');
const f = {
  missingWav: join(work, 'missing.wav'),
  missingDir: join(work, 'no-such-folder'),
  emptyDir: join(work, 'empty'),
  textDir: join(work, 'text-only'),
  corruptWav: join(work, 'corrupt.wav'),
  textWav: join(work, 'text.wav'),
  nanWav: join(work, 'nan.wav'),
  notOnnx: join(work, 'clip.onnx'),
  emptyOnnx: join(work, 'empty.onnx'),
  truncatedOnnx: join(work, 'truncated.onnx'),
  noMetaOnnx: join(work, 'no-metadata.onnx'),
  noTargetsOnnx: join(work, 'no-targets.onnx'),
  badJson: join(work, 'model.json'),
  badCsv: join(work, 'manifest.csv'),
  loopRoot: join(work, 'web-with-loop'),
  fifo: join(work, 'pipe.wav'),
  fifoCsv: join(work, 'pipe.csv'),
  badFsdd: join(work, 'bad-fsdd'),
  lowRateWav: join(work, 'four-khz.wav'),
  modelCopy: join(work, 'base.onnx'),
  modelLink: join(work, 'link.onnx'),
  trainOnly: join(work, 'train-takes-only'),
  silentTrain: join(work, 'silent-train-takes'),
  fiveLabelsOnnx: join(work, 'five-labels.onnx'),
};

before(() => {
  execFileSync('mkfifo', [f.fifo, f.fifoCsv]);
  writeFileSync(f.lowRateWav, monoWav(Float32Array.from({ length: 4000 }, (_, i) => 0.3 * Math.sin(i / 3)), 4000));
  copyFileSync('models/small.int8.onnx', f.modelCopy);
  symlinkSync(f.modelCopy, f.modelLink);
  mkdirSync(f.emptyDir);
  mkdirSync(f.trainOnly);
  copyFileSync(join(FSDD_RECORDINGS, '4_theo_7.wav'), join(f.trainOnly, '4_theo_7.wav'));
  mkdirSync(f.silentTrain);
  for (const name of ['0_mute_5.wav', '1_mute_6.wav', '2_quiet_7.wav']) writeFileSync(join(f.silentTrain, name), monoWav(new Int16Array(8000), 8000));
  mkdirSync(f.badFsdd);
  writeFileSync(join(f.badFsdd, '3_theo_0.wav'), Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt '), Buffer.alloc(6, 0xff)]));
  copyFileSync(join(FSDD_RECORDINGS, '4_theo_1.wav'), join(f.badFsdd, '4_theo_1.wav'));
  mkdirSync(f.textDir);
  writeFileSync(join(f.textDir, 'README.txt'), 'no audio here\n');
  writeFileSync(f.corruptWav, Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt '), Buffer.alloc(6, 0xff)]));
  writeFileSync(f.textWav, 'this is a text file renamed to .wav\n'.repeat(20));
  writeFileSync(f.nanWav, monoWav(Float32Array.from({ length: 4000 }, (_, i) => (i % 100 === 0 ? NaN : Math.sin(i / 5) * 0.3)), 8000, { float32: true }));
  copyFileSync(clip, f.notOnnx);
  writeFileSync(f.emptyOnnx, '');
  const model = readFileSync('models/default.onnx');
  writeFileSync(f.truncatedOnnx, model.subarray(0, Math.floor(model.length / 3)));
  const proto = decodeModelProto(model);
  proto.metadataProps = [];
  writeFileSync(f.noMetaOnnx, encodeModelProto(proto));
  const untargeted = decodeModelProto(readFileSync('models/small.int8.onnx'));
  untargeted.metadataProps = untargeted.metadataProps!.filter((p) => p.key !== 'spoken_digits.norm_targets');
  writeFileSync(f.noTargetsOnnx, encodeModelProto(untargeted));
  // Its graph answers 11 classes, its metadata names 5 labels.
  const fiveLabels = decodeModelProto(readFileSync('models/small.onnx'));
  fiveLabels.metadataProps = fiveLabels.metadataProps!.map((p) => (p.key === 'spoken_digits.labels' ? { ...p, value: JSON.stringify(['0', '1', '2', '3', 'none']) } : p));
  writeFileSync(f.fiveLabelsOnnx, encodeModelProto(fiveLabels));
  writeFileSync(f.badJson, '{"modelTopology": ');
  writeFileSync(f.badCsv, `file,label\n${f.missingWav},3\n`);
  mkdirSync(f.loopRoot);
  writeFileSync(join(f.loopRoot, 'index.html'), '<!doctype html>');
  symlinkSync(f.loopRoot, join(f.loopRoot, 'again'));
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function digits(args: string[], stdin?: Buffer, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { ...process.env, NO_COLOR: '1', SPOKEN_DIGITS_DATA: f.missingDir },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => undefined);
    if (stdin) child.stdin.end(stdin);
    else child.stdin.end();
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** Node and npm warnings are not ours; everything else on stderr is. */
const ourLines = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.trim() && !/^npm warn|ExperimentalWarning|--trace-warnings/.test(l));

/**
 * `stderr`: the command fails as a whole. `row`: batch commands (predict, eval) report a bad file
 * in its own result row on stdout, answer the other files, and exit non-zero.
 */
interface CaseOptions {
  stdin?: Buffer;
  where?: 'stderr' | 'row';
}
type Case = [name: string, args: string[], message: RegExp, options?: CaseOptions];

const nanF32 = Buffer.alloc(4 * 8000);
for (let i = 0; i < 8000; i++) nanF32.writeFloatLE(i % 7 === 0 ? 0.1 : NaN, i * 4);

const cases: Case[] = [
  // predict
  ['predict: missing file', ['predict', f.missingWav], /missing\.wav/, { where: 'row' }],
  ['predict: a folder instead of a file', ['predict', f.emptyDir], /empty/, { where: 'row' }],
  ['predict: corrupt WAV header', ['predict', f.corruptWav], /corrupt\.wav/, { where: 'row' }],
  ['predict: text renamed .wav', ['predict', f.textWav], /text\.wav/, { where: 'row' }],
  ['predict: float WAV with NaN samples', ['predict', f.nanWav], /NaN|not finite|finite/i, { where: 'row' }],
  ['predict: model is a WAV', ['predict', '-m', f.notOnnx, clip], /not an ONNX model|ONNX/],
  ['predict: empty model file', ['predict', '-m', f.emptyOnnx, clip], /empty\.onnx/],
  ['predict: truncated model', ['predict', '-m', f.truncatedOnnx, clip], /truncated\.onnx/],
  ['predict: ONNX without spoken-digits metadata', ['predict', '-m', f.noMetaOnnx, clip], /metadata/],
  ['predict: model path is a folder', ['predict', '-m', f.emptyDir, clip], /empty/],
  ['predict: missing model', ['predict', '-m', join(work, 'nope.onnx'), clip], /nope\.onnx/],
  ['predict: threshold 2', ['predict', '--threshold', '2', clip], /threshold/],
  ['predict: an empty threshold (not 0)', ['predict', '--threshold', '', clip], /threshold '' must be a number/],
  ['predict: a hexadecimal threshold', ['predict', '--threshold', '0x1', clip], /threshold '0x1'/],
  ['predict: --top abc', ['predict', '--top', 'abc', clip], /--top 'abc'/],
  ['predict: a named pipe, refused at once', ['predict', f.fifo], /not a regular file/, { where: 'row' }],
  ['predict: a named pipe as the model', ['predict', '-m', f.fifo, clip], /not a regular file/],
  ['predict: /dev/zero as the model', ['predict', '-m', '/dev/zero', clip], /not a regular file/],
  ['predict: unknown backend', ['predict', '--backend', 'gpu', clip], /backend/],
  // eval
  ['eval: missing folder', ['eval', f.missingDir], /no-such-folder/],
  ['eval: empty folder', ['eval', f.emptyDir], /empty|no .*(clip|wav|audio)/i],
  ['eval: folder with no audio', ['eval', f.textDir], /text-only|no .*(clip|wav|audio)/i],
  ['eval: manifest naming a missing file', ['eval', f.badCsv], /missing\.wav/, { where: 'row' }],
  ['eval: model is a WAV', ['eval', '-m', f.notOnnx, FSDD_RECORDINGS, '--split', 'test'], /ONNX/],
  ['eval: unknown split', ['eval', FSDD_RECORDINGS, '--split', 'dev'], /split 'dev' must be test, train or all/],
  ['compare: unknown split (was a TypeError)', ['compare', '--data', FSDD_RECORDINGS, '--split', 'dev', '--runs', '10'], /split 'dev' must be test, train or all/],
  ['eval --adapt-norm: a model without normalization targets, refused before any clip', ['eval', FSDD_RECORDINGS, '--speakers', 'theo', '--adapt-norm', '-m', f.noTargetsOnnx], /no-targets\.onnx has no normalization targets to adapt to/],
  ['eval: batch 0', ['eval', FSDD_RECORDINGS, '--batch', '0'], /batch/],
  ['eval: 100000 threads', ['eval', FSDD_RECORDINGS, '--threads', '100000'], /--threads '100000' must be a positive integer \(at most 64\)/],
  ['eval: a named pipe as the manifest, refused at once', ['eval', f.fifo], /pipe\.wav is neither a folder nor a CSV manifest: is not a regular file/],
  ['eval: /dev/zero as the manifest', ['eval', '/dev/zero'], /is not a regular file/],
  ['eval: a WAV file instead of a folder or manifest', ['eval', clip], /is a WAV file; eval takes a folder/],
  // compare / bench
  ['compare: empty eval folder', ['compare', '--data', f.emptyDir, '--runs', '10'], /empty|no .*(clip|wav|audio)/i],
  ['compare: extra model is a WAV', ['compare', f.notOnnx, '--data', FSDD_RECORDINGS, '--runs', '10'], /clip\.onnx|ONNX/],
  ['bench: folder with no audio', ['bench', '--data', f.textDir, '--runs', '10'], /text-only|no .*(clip|wav|audio)/i],
  ['bench: truncated model', ['bench', '-m', f.truncatedOnnx, '--data', FSDD_RECORDINGS, '--runs', '10'], /truncated\.onnx/],
  ['bench: runs 0', ['bench', '--data', FSDD_RECORDINGS, '--runs', '0'], /runs/],
  ['bench: --clips 1e400 is checked before any data is looked for', ['bench', '--data', f.missingDir, '--clips', '1e400'], /clips '1e400' must be a positive integer/],
  ['bench: --idle-ms -1 is checked before any data is looked for', ['bench', '--data', f.missingDir, '--idle-ms', '-1'], /--idle-ms '-1' must be a whole number of ms/],
  ['bench: a corrupt clip is named', ['bench', '--data', f.badFsdd, '--runs', '5'], /bad-fsdd\/3_theo_0\.wav: chunk "fmt "/],
  ['bench: a folder without clips of the test split', ['bench', '--data', f.trainOnly, '--runs', '5'], /has no clips of the official test split/],
  // With an eval set that is missing too: only a check of the models before the set is read names the model.
  ['compare: a missing extra model, refused before the shipped models are measured', ['compare', join(work, 'nope.onnx'), '--data', f.missingDir, '--runs', '10'], /nope\.onnx/],
  ['eval: --split on a manifest (a manifest is evaluated as it lists its clips)', ['eval', f.badCsv, '--split', 'test'], /is a manifest, evaluated as it lists its clips/],
  ['eval: --babble-pool without --babble', ['eval', FSDD_RECORDINGS, '--babble-pool', f.missingDir], /--babble-pool is the babble of --babble/],
  ['eval: a hexadecimal --babble', ['eval', FSDD_RECORDINGS, '--split', 'test', '--babble', '0x10'], /--babble '0x10' must be an SNR/],
  // quantize / export / ensemble: --out checked before the work
  ['quantize: --out the model being quantized (through a link)', ['quantize', f.modelCopy, '--out', f.modelLink, '--calib', FSDD_RECORDINGS], /is the model being quantized; write to another file/],
  ['quantize: --out in a missing folder', ['quantize', 'models/default.onnx', '--out', join(f.missingDir, 'q.onnx'), '--calib', FSDD_RECORDINGS], /no such folder/],
  ['quantize: a misspelt op type (left fp32 without a word)', ['quantize', 'models/small.onnx', '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS, '--clips', '10', '--ops', 'Conv,Gemmm'], /'Gemmm': the model has no such nodes and no preset names it/],
  ['quantize: --auto with an option it overrides', ['quantize', 'models/small.onnx', '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS, '--auto', '--ops', 'all'], /--auto tries its own variants; leave out --ops/],
  ['quantize: --auto with --stem, one of its variants', ['quantize', 'models/small.onnx', '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS, '--auto', '--stem'], /--auto tries its own variants; leave out --stem/],
  ['quantize: calibration clips that are all digital silence (wrote a model that heard nothing, exit 0)', ['quantize', 'models/small.onnx', '--out', join(work, 'q.onnx'), '--calib', f.silentTrain], /calibration features are the same for every clip \(silent or constant clips\?\)/],
  ['quantize: a model that does not run as its metadata says, named (was "model bytes", after the work)', ['quantize', f.fiveLabelsOnnx, '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS, '--clips', '10'], /five-labels\.onnx returns 11 values per clip, its metadata names 5 labels/],
  ['quantize: --percentile without --calibration percentile', ['quantize', 'models/small.onnx', '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS, '--percentile', '99'], /--percentile needs --calibration percentile/],
  ['ensemble: --out one of the members', ['ensemble', 'models/default.onnx', f.modelCopy, '--out', f.modelLink], /is one of the members; write to another file/],
  ['ensemble: a member twice', ['ensemble', 'models/small.onnx', 'models/small.onnx', '--out', join(work, 'twice.onnx')], /is a member twice/],
  ['export: --out a folder', ['export', '--model', f.missingDir, '--out', work], /is a folder; name a file/],
  ['export: an empty --threshold (not 0: rejection off)', ['export', '--model', f.missingDir, '--out', join(work, 'e.onnx'), '--threshold', ''], /threshold '' must be a number/],
  // quantize / export
  ['quantize: input is a WAV', ['quantize', f.notOnnx, '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS], /ONNX|clip\.onnx/],
  ['ensemble: one member', ['ensemble', 'models/default.onnx', '--out', join(work, 'e.onnx')], /at least two members/],
  ['ensemble: a member is a WAV', ['ensemble', 'models/default.onnx', f.notOnnx, '--out', join(work, 'e.onnx')], /clip\.onnx.*not an ONNX/],
  ['ensemble: an int8 member', ['ensemble', 'models/default.onnx', 'models/default.int8.onnx', '--out', join(work, 'e.onnx')], /int8.*fuse the fp32/],
  ['quantize: missing input', ['quantize', join(work, 'nope.onnx'), '--out', join(work, 'q.onnx'), '--calib', FSDD_RECORDINGS], /nope\.onnx/],
  ['quantize: calibration folder without audio', ['quantize', 'models/default.onnx', '--out', join(work, 'q.onnx'), '--calib', f.textDir], /text-only|no .*(clip|wav|audio)/i],
  ['export: missing tfjs model', ['export', '--model', f.missingDir, '--out', join(work, 'e.onnx')], /no-such-folder/],
  ['export: corrupt model.json', ['export', '--model', f.badJson, '--out', join(work, 'e.onnx')], /model\.json|metadata\.json/],
  // listen (file / stdin sources)
  ['listen: an empty --input path (not the microphone)', ['listen', '--input', '', '--json'], /--input: the path is empty/],
  ['listen: missing file', ['listen', '--input', f.missingWav, '--json'], /missing\.wav/],
  ['listen: corrupt WAV', ['listen', '--input', f.corruptWav, '--json'], /corrupt\.wav/],
  ['listen: text renamed .wav', ['listen', '--input', f.textWav, '--json'], /text\.wav/],
  ['listen: float WAV with NaN samples', ['listen', '--input', f.nanWav, '--json'], /NaN|finite/i],
  ['listen: mostly-NaN f32le on stdin', ['listen', '--input', '-', '--rate', '8000', '--encoding', 'f32le', '--json'], /NaN/, { stdin: nanF32 }],
  ['listen: model is a WAV', ['listen', '--input', clip, '--model', f.notOnnx, '--json'], /ONNX|clip\.onnx/],
  ['listen: sensitivity 5', ['listen', '--input', clip, '--sensitivity', '5'], /sensitivity/],
  ['listen: an empty sensitivity (not 0)', ['listen', '--input', clip, '--sensitivity', ''], /sensitivity/],
  ['listen: one byte on stdin (less than a sample)', ['listen', '--input', '-', '--rate', '8000', '--json'], /closed after 1 byte, less than one s16le frame/, { stdin: Buffer.from('x') }],
  ['listen: a big-endian WAV (RIFX) on stdin: the WAV reader\'s message, not "raw PCM needs its rate"', ['listen', '--input', '-', '--json'], /stdin: big-endian WAV \(RIFX\) is not supported/, { stdin: Buffer.concat([Buffer.from('RIFX'), readFileSync(clip).subarray(4)]) }],
  ['listen: an RF64 WAV on stdin', ['listen', '--input', '-', '--json'], /stdin: RF64 \(64-bit WAV\) is not supported/, { stdin: Buffer.concat([Buffer.from('RF64'), readFileSync(clip).subarray(4)]) }],
  ['listen: a WAV on stdin with another --rate', ['listen', '--input', '-', '--rate', '16000', '--json'], /WAV on stdin is 8000 Hz, not the 16000 Hz asked for/, { stdin: readFileSync(clip) }],
  ['listen: a named pipe, refused at once', ['listen', '--input', f.fifo, '--json'], /not a regular file/],
  ['listen: raw-PCM flags with a WAV file (it says its own rate)', ['listen', '--input', clip, '--rate', '16000', '--json'], /--rate is only for raw PCM on stdin/],
  ['listen: a microphone flag with --input', ['listen', '--input', clip, '--device', 'hw:1', '--json'], /--device is only for the microphone, which --input replaces/],
  ['enroll: --repeats with labelled recordings', ['enroll', clip, '--repeats', '3', '--out', join(work, 'p2.onnx')], /--repeats is only for --counting/],
  ['enroll: a microphone flag with labelled recordings', ['enroll', clip, '--capture-rate', '5', '--out', join(work, 'p2.onnx')], /--capture-rate is only for the microphone/],
  ['enroll: a named pipe as the manifest, refused at once', ['enroll', f.fifoCsv, '--out', join(work, 'p.onnx')], /not a regular file/],
  ['enroll: an empty --l2 (not 0)', ['enroll', clip, '--l2', '', '--out', join(work, 'p.onnx')], /l2 '' must be a number/],
  ['enroll: a hexadecimal --l2', ['enroll', clip, '--l2', '0x10', '--out', join(work, 'p.onnx')], /l2 '0x10' must be a number/],
  ['enroll: --out a link to the base model', ['enroll', '--counting', clip, '-m', f.modelLink.replace('link', 'base'), '--out', f.modelLink], /is the model being personalized/],
  // serve (fails before listening)
  ['serve: port out of range', ['serve', '--port', '70000'], /port/],
  ['serve: an empty host (would bind every interface)', ['serve', '--host', '', '--port', '0'], /host is empty/],
  ['serve: missing web root', ['serve', '--root', f.missingDir, '--port', '0'], /no-such-folder|root/],
  ['serve: web root with a symlink loop', ['serve', '--root', f.loopRoot, '--port', '0'], /symbolic link loop/],
  ['serve: --models a file, refused before serving', ['serve', '--models', clip, '--port', '0'], /--models .*3_theo_0\.wav is not a folder/],
  ['serve: --models a missing folder', ['serve', '--models', f.missingDir, '--port', '0'], /no-such-folder: no such folder/],
  // train: options refused before the backend loads or any audio is read (--data is missing on purpose)
  ['train: a misspelt --augment-options key', ['train', '--arch', 'cnn', '--augment-options', '{"voise":[0.75,1.5]}', '--data', f.missingDir], /augment options: unknown option 'voise'/],
  ['train: --augment-options with a range the wrong way round', ['train', '--arch', 'cnn', '--augment-options', '{"snrDb":[20,-3]}', '--data', f.missingDir], /snrDb must be \[low, high\] with low <= high/],
  ['train: --augment-options with an unknown noise kind', ['train', '--arch', 'cnn', '--augment-options', '{"noiseKinds":{"babel":6}}', '--data', f.missingDir], /noiseKinds: unknown option 'babel'/],
  ['train: a misspelt --features key', ['train', '--arch', 'cnn', '--features', '{"nmels":24}', '--data', f.missingDir], /invalid feature config: unknown key 'nmels'/],
  ['train: --members without --arch ensemble', ['train', '--arch', 'mlp', '--members', 'cnn,foo', '--data', f.missingDir], /--members needs --arch ensemble/],
  ['train: --resume with --loso (folds keep no checkpoint)', ['train', '--arch', 'mlp', '--loso', 'george', '--resume', '--data', f.missingDir], /--resume: leave-one-speaker-out folds keep no checkpoint/],
  ['train: --loso-results that is not a loso.json, refused before training', ['train', '--arch', 'mlp', '--loso-results', f.badCsv, '--data', f.missingDir], /is not valid JSON/],
  ['train: --loso-results missing', ['train', '--arch', 'mlp', '--loso-results', join(work, 'nope.json'), '--data', f.missingDir], /nope\.json: no such file/],
  // With --data missing: only the check made before any audio loads can answer.
  ['train: --resume with nothing to resume (a mistyped --out), refused before any audio loads', ['train', '--arch', 'mlp', '--resume', '--out', join(work, 'no-run'), '--data', f.missingDir], /nothing to resume in .*no-run\/checkpoint/],
  ['train: a misspelt last --loso speaker, refused before the first fold trains', ['train', '--arch', 'mlp', '--loso', 'george,Georg', '--data', FSDD_RECORDINGS], /unknown speaker\(s\) Georg/],
  // data
  ['data info: an empty --data (would use $SPOKEN_DIGITS_DATA or the cache)', ['data', 'info', '--data', ''], /--data is empty/],
  ['data info: folder without audio', ['data', 'info', '--data', f.textDir], /text-only|no .*(clip|wav|audio)/i],
];

describe('CLI bad-input matrix: one line, non-zero exit, no stack trace', function () {
  this.timeout(90_000);

  for (const [name, args, message, options = {}] of cases) {
    it(name, async () => {
      const r = await digits(args, options.stdin);
      assert.ok(!r.timedOut, `hung (killed after 30 s); stderr so far:\n${r.stderr}`);
      // 2: what the user can fix (src/cli/run.ts); 1 would be a failure of ours.
      assert.equal(r.code, 2, `exit code ${r.code}; stdout:\n${r.stdout.slice(0, 500)}\nstderr:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace without --verbose');
      const lines = ourLines(r.stderr);
      if (options.where === 'row') {
        assert.deepEqual(lines, [], 'batch errors belong in their result row');
        const row = r.stdout.split('\n').find((l) => message.test(l));
        assert.ok(row, `no result row matching ${message}:\n${r.stdout}`);
        return;
      }
      assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
      // Refused before it began: nothing served, nothing announced.
      if (args[0] === 'serve') assert.doesNotMatch(r.stdout, /digits serve: http/);
      assert.match(lines[0], /^digits: /);
      assert.match(lines[0], message);
    });
  }

  it('output that cannot be written (a full disk: > /dev/full) is an error with exit 2, not a silent 0; a reader that left (| head) ends it quietly', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'predict', clip], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^digits: cannot write the output: ENOSPC/m);
    } finally {
      closeSync(full);
    }
    // `head -c 0` exits before the table is written: the write meets EPIPE (an unhandled error event, exit 1, before).
    const head = spawnSync('bash', ['-c', `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts predict ${clip} ${clip} ${clip} | head -c 0; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(head.stdout.trim(), '0', head.stderr);
    assert.doesNotMatch(head.stderr, /cannot write/);
  });

  it('a file name with a tab, a newline or a terminal escape is printed escaped: rows stay one line each, no escape reaches the terminal', async () => {
    const odd = join(work, 'tab\there\nx\x1b[31m.wav');
    copyFileSync(clip, odd);
    const r = await digits(['predict', odd, join(work, 'gone\t.wav')]);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows.length, 3, r.stdout);
    assert.ok(rows.every((row) => row.split('\t').length === 4 && !row.includes('\x1b')), JSON.stringify(rows));
    assert.match(rows[1], /tab\\there\\nx\\x1b\[31m\.wav\t\d\t/);
    // A message made of lines (what was tried, one per line) keeps them.
    const data = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'data', 'info'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', SPOKEN_DIGITS_DATA: '', XDG_CACHE_HOME: join(work, 'no-cache') } });
    assert.match(data.stderr, /tried:\n {2}- cache /);
  });

  it('--verbose adds the stack trace', async () => {
    const r = await digits(['predict', '--verbose', '-m', f.emptyOnnx, clip]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\n\s+at /);
  });

  it('usage errors exit 2 as bad input does (commander would exit 1); help and the version exit 0', async () => {
    for (const args of [['listen', '--bogus'], ['no-such-command'], ['predict'], ['listen', '--threshold']]) {
      const r = await digits(args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit code ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, /error: /, args.join(' '));
    }
    for (const args of [['--help'], ['listen', '--help'], ['--version']]) assert.equal((await digits(args)).code, 0, args.join(' '));
  });

  it("train: an option's value that is empty or not a decimal is a usage error, not 0 or a default (the usage follows)", async () => {
    const cases: [string[], RegExp][] = [
      [['--patience', ''], /--patience '' must be an integer >= 0/], // '' read as 0 turned early stopping off
      [['--clip-norm', ' '], /--clip-norm ' ' must be a number/],
      [['--seed', '0x10'], /--seed '0x10' must be an integer/],
      [['--out', ''], /--out is empty/], // wrote the run into the current folder
      [['--loso', ''], /--loso is empty/], // trained the official split
      [['--data', ''], /--data is empty/],
    ];
    for (const [args, message] of cases) {
      const r = await digits(['train', '--arch', 'mlp', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: exit code ${r.code}\n${r.stderr}`);
      assert.match(r.stderr.split('\n')[0], message, args.join(' '));
    }
  });

  it('listen: a 4 kHz file (below what the endpointer takes) is resampled, not refused', async () => {
    const r = await digits(['listen', '--input', f.lowRateWav, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).type, 'end');
  });
});
