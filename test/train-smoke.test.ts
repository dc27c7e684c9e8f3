import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ort } from '../src/model/ort.js';
import { METADATA_KEYS } from '../src/model/metadata.js';
import { decodeModel } from '../src/train/onnx/graph.js';
import { asFloat32, provenancePath } from '../src/train/run.js';
import { learningRateAt } from '../src/train/trainer.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

describe('train: smoke run of `digits train`', function () {
  // A few hundred clips, a few epochs of the MLP (the cheapest architecture): seconds of compute.
  this.timeout(240000);
  let out: string;
  let stdout: string;

  before(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-train-'));
    const args = [
      'tsx', 'src/cli/main.ts', 'train', '--arch', 'mlp', '--data', FSDD, '--limit', '400', '--epochs', '8', '--batch-size', '16',
      '--lr', '1e-3', '--warmup', '0', '--no-augment', '--no-none', '--babble', '10', '--no-progress', '--seed', '3', '--out', out,
    ];
    ({ stdout } = await run('npx', args, { cwd: ROOT, maxBuffer: 1 << 24 }));
  });

  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('beats chance (10%) by a clear margin on the FSDD test split', () => {
    const card = JSON.parse(fs.readFileSync(path.join(out, 'card.json'), 'utf8'));
    assert.ok(card.metrics.testAccuracy >= 0.25, `test accuracy ${card.metrics.testAccuracy}`);
    assert.match(stdout, /mlp: test \d+\.\d+%/);
  });

  it('writes its test clips as a manifest on which `digits eval` measures the same accuracy as the training run', async () => {
    const card = JSON.parse(fs.readFileSync(path.join(out, 'card.json'), 'utf8'));
    const rows = fs.readFileSync(path.join(out, 'test.csv'), 'utf8').trim().split('\n');
    assert.equal(rows[0], 'file,label');
    assert.equal(rows.length - 1, 300, 'the official test split: takes 0-4 of every speaker and digit');
    assert.match(rows[1], /^[^/].*\/[0-9]_[a-z]+_[0-4]\.wav,[0-9]$/, 'a path relative to the run folder');
    assert.ok(fs.existsSync(path.resolve(out, rows[1].replace(/,[0-9]$/, ''))));
    const { stdout: evaluated } = await run('npx', ['tsx', 'src/cli/main.ts', 'eval', path.join(out, 'test.csv'), '--model', path.join(out, 'model.onnx'), '--threshold', '0', '--json'], { cwd: ROOT, maxBuffer: 1 << 24 });
    assert.equal(JSON.parse(evaluated).accuracy.toFixed(4), card.metrics.testAccuracy.toFixed(4));
  });

  it('writes the tfjs model, ONNX model, curves, confusion matrix and card', () => {
    for (const f of ['tfjs/model.json', 'tfjs/weights.bin', 'model.onnx', 'curves.svg', 'confusion.svg', 'history.json', 'card.json', 'card.md', 'test.csv']) {
      assert.ok(fs.statSync(path.join(out, f)).size > 0, f);
    }
    assert.match(fs.readFileSync(path.join(out, 'curves.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*polyline[\s\S]*<\/svg>$/);
    const history = JSON.parse(fs.readFileSync(path.join(out, 'history.json'), 'utf8'));
    assert.equal(history.length, 8);
  });

  it('`digits export` of the run\'s tfjs folder makes its model.onnx again, from the tfjs/metadata.json it wrote; a card is not metadata', async () => {
    const again = path.join(out, 'again.onnx');
    await run('npx', ['tsx', 'src/cli/main.ts', 'export', '--model', path.join(out, 'tfjs'), '--out', again], { cwd: ROOT, maxBuffer: 1 << 24 });
    assert.ok(fs.readFileSync(again).equals(fs.readFileSync(path.join(out, 'model.onnx'))), 'the export differs from the model the run wrote');
    await assert.rejects(run('npx', ['tsx', 'src/cli/main.ts', 'export', '--model', path.join(out, 'tfjs'), '--meta', path.join(out, 'card.json'), '--out', again], { cwd: ROOT }), (e: { code: number; stderr: string }) => {
      assert.match(e.stderr, /is a model card, without the feature normalization statistics: pass --meta with the run's tfjs\/metadata\.json/);
      return true;
    });
  });

  it('--init-from refuses weights trained on other features or classes, before any audio loads', async () => {
    const to = path.join(out, 'finetune');
    const base = ['tsx', 'src/cli/main.ts', 'train', '--arch', 'mlp', '--data', FSDD, '--limit', '20', '--epochs', '1', '--no-augment', '--babble', '', '--no-onnx', '--no-progress', '--init-from', path.join(out, 'tfjs'), '--out', to];
    // MFCCs of the same count fit the log-mel model's weight shapes exactly.
    for (const [extra, refusal] of [
      [['--no-none', '--features', '{"kind":"mfcc","nMfcc":32}'], /its model was trained on other features \(kind "logmel", here "mfcc"/],
      [[], /its classes .* are not this run's/],
    ] as const) {
      await assert.rejects(run('npx', [...base, ...extra], { cwd: ROOT }), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2, e.stderr);
        assert.match(e.stderr, refusal);
        return true;
      });
    }
  });

  it('the ONNX export carries the feature config and labels and agrees with the card', async () => {
    const bytes = fs.readFileSync(path.join(out, 'model.onnx'));
    const meta = decodeModel(bytes).metadata;
    const config = JSON.parse(meta[METADATA_KEYS.featureConfig]);
    assert.equal(config.numFrames, 64);
    assert.equal(config.normalization.mean.length, 32);
    // The statistics as the DSP core uses them (floats), in the fewest digits that name them.
    for (const v of [...config.normalization.mean, ...config.normalization.std]) {
      assert.equal(asFloat32(v), v, `${v} is not written as asFloat32 writes it`);
      assert.ok(String(v).replace(/^-|\.|e.*$/g, '').replace(/^0+/, '').length <= 9, `${v} is written longer than a float needs`);
    }
    assert.deepEqual(JSON.parse(meta[METADATA_KEYS.labels]), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const session = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', new Float32Array(2 * 64 * 32), [2, 64, 32]);
    const y = (await session.run({ features: x })).probabilities;
    assert.deepEqual(y.dims, [2, 10]);
    const p = y.data as Float32Array;
    assert.ok(Math.abs(p.slice(0, 10).reduce((s, v) => s + v, 0) - 1) < 1e-4);
  });
});

describe('train: recordings numbered otherwise (--split random)', function () {
  this.timeout(240000);
  it('refuses a folder of takes 0-4 only with what to do, and --split random tests on a seeded tenth of each digit and speaker', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-split-'));
    try {
      const data = path.join(dir, 'mine');
      fs.mkdirSync(data);
      for (const speaker of ['jackson', 'theo']) for (let d = 0; d < 10; d++) for (let take = 0; take < 3; take++) fs.copyFileSync(path.join(FSDD, `${d}_${speaker}_${take}.wav`), path.join(data, `${d}_${speaker}_${take}.wav`));
      const args = ['tsx', 'src/cli/main.ts', 'train', '--arch', 'mlp', '--data', data, '--epochs', '1', '--no-augment', '--no-none', '--babble', '', '--no-onnx', '--no-progress', '--out', path.join(dir, 'run')];
      await assert.rejects(run('npx', args, { cwd: ROOT, maxBuffer: 1 << 24 }), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2);
        assert.match(e.stderr, /every clip is a take 0-4, which FSDD's official split keeps for testing.*--split random/);
        return true;
      });
      // An earlier run's model in the folder does not survive a run that writes none (--no-onnx).
      fs.mkdirSync(path.join(dir, 'run'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'run', 'model.onnx'), 'an earlier run');
      await run('npx', [...args, '--split', 'random'], { cwd: ROOT, maxBuffer: 1 << 24 });
      assert.ok(!fs.existsSync(path.join(dir, 'run', 'model.onnx')), 'a stale model.onnx was left beside the new card');
      assert.ok(fs.statSync(path.join(dir, 'run', 'tfjs', 'metadata.json')).size > 0);
      for (const [given, refusal] of [
        [[...args, '--out', path.join(dir, 'run', 'card.json')], /--out .*card\.json is a file/],
        [[...args.filter((a) => a !== '--no-augment'), '--augment-options', '{"sampleRate":16000}'], /sampleRate is the features' rate/],
      ] as const) {
        await assert.rejects(run('npx', [...given, '--split', 'random'], { cwd: ROOT }), (e: { code: number; stderr: string }) => {
          assert.equal(e.code, 2, e.stderr);
          assert.match(e.stderr, refusal);
          return true;
        });
      }
      const card = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'card.json'), 'utf8'));
      assert.deepEqual([card.training.data.split, card.metrics.testClips], ['random (a tenth of each digit and speaker test, at least one; seed 1)', 20]);
      const tested = fs.readFileSync(path.join(dir, 'run', 'test.csv'), 'utf8').trim().split('\n').slice(1);
      // One of the three takes of every digit of each speaker.
      assert.deepEqual(new Set(tested.map((r) => path.basename(r).replace(/_\d\.wav,\d$/, ''))).size, 20);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('train: --resume', function () {
  this.timeout(240000);
  it('an ensemble interrupted before its second member resumes the first from its checkpoint and trains the second afresh', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-resume-'));
    try {
      const args = ['tsx', 'src/cli/main.ts', 'train', '--arch', 'ensemble', '--members', 'mlp,mlp', '--data', FSDD, '--limit', '20', '--epochs', '1', '--no-augment', '--no-none', '--babble', '', '--no-onnx', '--no-progress', '--out', out];
      await run('npx', args, { cwd: ROOT, maxBuffer: 1 << 24 });
      const first = path.join(out, 'members', '0-mlp');
      const card = () => ({ json: JSON.parse(fs.readFileSync(path.join(first, 'card.json'), 'utf8')), md: fs.readFileSync(path.join(first, 'card.md'), 'utf8') });
      const before = card();
      // As if it had stopped before the second member wrote a checkpoint.
      fs.rmSync(path.join(out, 'members', '1-mlp'), { recursive: true });
      fs.rmSync(path.join(out, 'ensemble.json'));
      const { stderr } = await run('npx', [...args, '--resume'], { cwd: ROOT, maxBuffer: 1 << 24 });
      assert.match(stderr, /resumed from .*members\/0-mlp\/checkpoint after epoch 1\nnothing to train: its 1 epoch ran/);
      // The finished first member trained no further, and its card still says what its epoch took, not 0 s.
      const after = card();
      const perEpoch = (md: string) => md.match(/; ([\d.]+) s per epoch/)?.[1];
      assert.ok(Number(perEpoch(before.md)) > 0, before.md);
      assert.equal(perEpoch(after.md), perEpoch(before.md));
      assert.equal(after.json.training.secondsPerEpoch, before.json.training.secondsPerEpoch);
      assert.deepEqual([after.json.training.epochs, after.json.metrics], [before.json.training.epochs, before.json.metrics]);
      assert.ok(fs.existsSync(path.join(out, 'members', '1-mlp', 'tfjs', 'model.json')));
      // --no-onnx: the members' tfjs folders, no ONNX file that was never written.
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'ensemble.json'), 'utf8')).members, [
        { arch: 'mlp', tfjs: 'members/0-mlp/tfjs', weight: 1 },
        { arch: 'mlp', tfjs: 'members/1-mlp/tfjs', weight: 1 },
      ]);
      // Resumed with another seed or data subset: refused, naming what changed (more epochs may be asked for).
      const other = args.map((a, i) => (args[i - 1] === '--limit' ? '30' : a));
      await assert.rejects(run('npx', [...other, '--resume', '--seed', '2', '--epochs', '3'], { cwd: ROOT }), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2, e.stderr);
        assert.match(e.stderr, /--resume with other options than the run it continues: --limit 20 -> 30, --seed 1 -> 2\./);
        return true;
      });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('train: learning-rate schedule', () => {
  const o = { learningRate: 1e-2, minLearningRate: 1e-5, warmupEpochs: 2, restartEpochs: 4, restartMultiplier: 2 };
  it('warms up linearly, anneals by cosine and restarts with doubled periods', () => {
    assert.ok(learningRateAt(0.5, o) < learningRateAt(1.5, o));
    assert.ok(Math.abs(learningRateAt(2, o) - 1e-2) < 1e-9);
    assert.ok(Math.abs(learningRateAt(4, o) - (1e-5 + 0.5 * (1e-2 - 1e-5))) < 1e-9);
    assert.ok(learningRateAt(5.99, o) < 1e-4);
    assert.ok(Math.abs(learningRateAt(6, o) - 1e-2) < 1e-9, 'restart at epoch 6');
    assert.ok(Math.abs(learningRateAt(10, o) - (1e-5 + 0.5 * (1e-2 - 1e-5))) < 1e-9, 'second cycle is 8 epochs long');
    assert.ok(Math.abs(learningRateAt(14, o) - 1e-2) < 1e-9);
  });
});

describe('train: what a model file records of the machine it was built on', () => {
  it('paths relative to the working directory, or from ~, else as they are', () => {
    assert.equal(provenancePath(path.join(process.cwd(), 'runs', 'a', 'tfjs')), path.join('runs', 'a', 'tfjs'));
    assert.equal(provenancePath('runs/a/checkpoint'), path.join('runs', 'a', 'checkpoint'));
    const home = os.homedir();
    if (!process.cwd().startsWith(home)) assert.equal(provenancePath(path.join(home, '.cache', 'spoken-digits', 'synthetic')), path.join('~', '.cache', 'spoken-digits', 'synthetic'));
    assert.equal(provenancePath('/nowhere-else/x'), '/nowhere-else/x');
    assert.equal(provenancePath(process.cwd()), '.');
    assert.equal(provenancePath(path.join(process.cwd(), '..foo', 'x')), path.join('..foo', 'x'));
  });

  it('feature statistics are written as the floats the core reads them as, in at most 9 significant digits', () => {
    for (const v of [-64.57536424258684, 29.57663121588078, 1e-7 / 3, 123456789.123]) {
      const short = asFloat32(v);
      assert.equal(Math.fround(short), Math.fround(v));
      assert.ok(Number(short.toPrecision(9)) === short);
      assert.equal(asFloat32(short), short, 'written once, it stays as it is');
    }
  });
});
