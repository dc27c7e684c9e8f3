import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { decodeModel } from '../src/train/onnx/graph.js';
import { monoWav } from './fixtures/wav.js';
import { FSDD_ROOT } from './fsdd.js';
import { rng } from './stream/fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const MODELS = path.join(ROOT, 'models');

/**
 * scripts/build-default-model.ts is how the shipped models are made. Rebuilt with the card's own
 * last command (`--from-model`, which needs no training runs), each shipped model comes out byte
 * for byte as committed, with the card's measured figures: quantization, calibration, rejection
 * threshold and the test/babble/padded measurements are all deterministic.
 */
describe('scripts/build-default-model.ts', function () {
  this.timeout(240000);
  let work: string;
  before(() => {
    work = fs.mkdtempSync(path.join(tmpdir(), 'sd-build-'));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  for (const name of ['default', 'small']) {
    it(`rebuilds models/${name}.* from its fp32 file exactly`, async () => {
      const card = JSON.parse(fs.readFileSync(path.join(MODELS, `${name}.card.json`), 'utf8'));
      const last: string = card.reproduce.at(-1);
      // A card built from runs rebuilds from its fp32 file with the same name and no other flags.
      // The card's int8 variant is pinned: left to timing, two variants within noise of each other
      // could swap (it happened in CI on a busy machine) and the rebuilt int8 file would differ.
      const variant = ['--variant', card.metrics.quantization.variant.replaceAll(' ', '-')];
      const flags = last.includes('--from-model')
        ? last.split('build-default-model.ts ')[1].split(' ')
        : ['--from-model', `models/${name}.onnx`, ...variant, ...(name === 'default' ? [] : ['--name', name])];
      if (!flags.includes('--variant')) flags.push(...variant);
      const out = path.join(work, name);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts', ...flags, '--data', FSDD_ROOT, '--out', out], {
        cwd: ROOT,
        maxBuffer: 1 << 24,
      });
      for (const file of Object.keys(card.files)) {
        assert.ok(fs.readFileSync(path.join(out, file)).equals(fs.readFileSync(path.join(MODELS, file))), `${file} differs from the shipped one`);
      }
      const rebuilt = JSON.parse(fs.readFileSync(path.join(out, `${name}.card.json`), 'utf8'));
      // Everything but the latency in the quantization note (timed on this machine) is the same.
      const withoutTiming = (m: { quantization: { why: string } }) => ({ ...m, quantization: { ...m.quantization, why: m.quantization.why.replace(/p50 \d+ vs \d+ µs/, '') } });
      assert.deepEqual(withoutTiming(rebuilt.metrics), withoutTiming(card.metrics));
      assert.deepEqual(withoutTiming(JSON.parse(stdout)), withoutTiming(card.metrics));
      assert.deepEqual(rebuilt.files, card.files);
      assert.deepEqual(rebuilt.training, card.training);
      // The figures the card names are copied beside it.
      for (const f of card.figures.flatMap((g: Record<string, string>) => Object.values(g))) assert.ok(fs.existsSync(path.join(out, f)), `${f} missing`);
    });
  }

  it('--novelty-gate builds the gated model, describes the gate in its card, costs ~10 KB at rank 56, and refuses a second gate on top', async () => {
    // A small synthetic set (CI has no synthetic cache): FSDD-named digit clips and noise as the "none" clips.
    const synth = path.join(work, 'synthetic');
    fs.mkdirSync(path.join(synth, 'digits'), { recursive: true });
    fs.mkdirSync(path.join(synth, 'none'), { recursive: true });
    for (let d = 0; d < 10; d++) fs.copyFileSync(path.join(FSDD_ROOT, 'recordings', `${d}_theo_0.wav`), path.join(synth, 'digits', `${d}_synthetic_0.wav`));
    const r = rng(5);
    const noise = () => r() * 2 - 1;
    for (let k = 0; k < 40; k++) fs.writeFileSync(path.join(synth, 'none', `noise${k}.wav`), monoWav(Float32Array.from({ length: 4000 + 200 * k }, () => 0.05 * (1 + (k % 5)) * noise()), 8000));
    const out = path.join(work, 'gated');
    const build = (from: string, more: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts', '--from-model', from, '--variant', 'int8-all-minmax', ...more, '--data', FSDD_ROOT, '--out', out], {
        cwd: ROOT,
        maxBuffer: 1 << 24,
      });
    await build('models/default.onnx', ['--novelty-gate', '0.99', '--novelty-rank', '56', '--int4-min-weights', '10000', '--synthetic', synth]);
    const card = JSON.parse(fs.readFileSync(path.join(out, 'default.card.json'), 'utf8'));
    assert.equal(card.training.novelty.quantile, 0.99);
    assert.equal(card.training.novelty.rank, 56);
    // The gate alone once fitted the int8 default under 150 KB (149.7 KB); with the normalization
    // targets both files now carry (7.3 KB) it no longer does: the gate is ~10 KB on top of the default.
    const bytes = fs.statSync(path.join(out, 'default.int8.onnx')).size;
    const shipped = fs.statSync(path.join(MODELS, 'default.int8.onnx')).size;
    assert.ok(bytes - shipped <= 10.5 * 1024, `the gated default.int8.onnx is ${(bytes / 1024).toFixed(1)} KB, ${((bytes - shipped) / 1024).toFixed(1)} KB more than the shipped one`);
    assert.deepEqual(card.training.novelty.fittedOn, { digits: 2 * (2700 + 10), none: 40 });
    assert.match(card.reproduce.at(-1), /--int4-min-weights 10000 .*--novelty-gate 0\.99 --novelty-rank 56/);
    assert.match(fs.readFileSync(path.join(out, 'default.card.md'), 'utf8'), /Novelty gate in the graph/);
    // Both files carry the gate (the int8 file's node names are shortened): its comparison and its record.
    const gateOps = (file: string) => decodeModel(new Uint8Array(fs.readFileSync(file))).graph.nodes.filter((n) => n.op === 'Greater' || n.op === 'ReduceMin').length;
    assert.equal(gateOps(path.join(MODELS, 'default.int8.onnx')), 0);
    for (const file of ['default.onnx', 'default.int8.onnx']) {
      assert.equal(gateOps(path.join(out, file)), 2, `${file} has no gate`);
      assert.equal((parseModelMetadata(new Uint8Array(fs.readFileSync(path.join(out, file))), file).training as { novelty?: { quantile: number } }).novelty?.quantile, 0.99);
    }
    await assert.rejects(build(path.join(out, 'default.onnx'), ['--novelty-gate', '0.99', '--synthetic', synth]), (e: { stderr?: string }) => /already has a novelty gate/.test(e.stderr ?? ''));
  });

  it('refuses a --novelty-gate that is not a quantile, and a --from-model folder without its figures, before any work', async () => {
    await assert.rejects(run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts', '--from-model', 'models/default.onnx', '--novelty-gate', '1.5'], { cwd: ROOT }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /--novelty-gate 1\.5: a quantile between 0 and 1/);
      return true;
    });
    await assert.rejects(run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts', '--from-model', 'models/default.onnx', '--novelty-rank', '56'], { cwd: ROOT }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /--novelty-rank .* give both/);
      return true;
    });
    const lone = path.join(work, 'lone');
    fs.mkdirSync(lone);
    fs.copyFileSync(path.join(MODELS, 'default.onnx'), path.join(lone, 'default.onnx'));
    await assert.rejects(run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts', '--from-model', path.join(lone, 'default.onnx'), '--out', path.join(work, 'lone-out')], { cwd: ROOT }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /missing figures: .*default\.m0\.curves\.svg/);
      return true;
    });
  });

  it('refuses an unknown --variant, naming the known ones', async () => {
    await assert.rejects(run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts', '--from-model', 'models/default.onnx', '--variant', 'int3'], { cwd: ROOT }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /--variant int3: not a quantization variant \(one of int8-linear-minmax, .*int8-all-minmax/);
      return true;
    });
  });

  it('refuses to start without exactly one of --run and --from-model', async () => {
    await assert.rejects(run(process.execPath, ['--import', 'tsx', 'scripts/build-default-model.ts'], { cwd: ROOT }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /usage:/);
      return true;
    });
  });
});
