import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ort } from '../src/model/ort.js';
import { ModelError } from '../src/errors.js';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../src/model/metadata.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { type NoveltyRecord, appendNoveltyGate, fitNoveltyGate, isNovel, noveltyScore, withPooledOutputs } from '../src/train/onnx/novelty.js';
import { decodeModel } from '../src/train/onnx/graph.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';
import { rng } from './stream/fixtures.js';

const fused = new Uint8Array(readFileSync('models/default.onnx'));
const meta = parseModelMetadata(fused, 'models/default.onnx');
const { numFrames } = meta.featureConfig;
const dims = meta.featureConfig.nMels;
const none = meta.labels.indexOf('none');

/** Seeded random feature batches: embeddings spread widely enough for a gate fitted on some of them to flag others. */
function features(n: number, seed: number): ort.Tensor {
  const r = rng(seed);
  const data = new Float32Array(n * numFrames * dims);
  for (let i = 0; i < n; i++) {
    const scale = 0.3 + 2 * r();
    for (let k = 0; k < numFrames * dims; k++) data[i * numFrames * dims + k] = scale * (r() * 2 - 1);
  }
  return new ort.Tensor('float32', data, [n, numFrames, dims]);
}

async function run(bytes: Uint8Array, input: ort.Tensor, names: string[]): Promise<Float32Array[][]> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ [MODEL_INPUT_NAME]: input }, names);
  await session.release();
  const n = input.dims[0];
  return Array.from({ length: n }, (_, i) =>
    names.map((name) => {
      const d = out[name].data as Float32Array;
      const w = d.length / n;
      return d.slice(i * w, (i + 1) * w);
    }),
  );
}

describe('novelty gate (src/train/onnx/novelty.ts)', function () {
  this.timeout(60000);
  const { bytes: probe, names } = withPooledOutputs(fused);
  const embedded = async (input: ort.Tensor) =>
    (await run(probe, input, [MODEL_OUTPUT_NAME, ...names])).map(([p, ...pools]) => ({ p, e: pools.flatMap((x) => Array.from(x)) }));

  for (const rank of [undefined, 8]) it(`the gated graph (${rank ? `rank ${rank}` : 'full rank'}) moves 99% of the digits' probability to "none" exactly where the reference score is over the threshold, and changes nothing elsewhere`, async () => {
    const fitRows = await embedded(features(120, 1));
    const gate = fitNoveltyGate(
      fitRows.slice(0, 80).map((r) => r.e),
      fitRows.slice(0, 80).map((_, i) => i % 10),
      fitRows.slice(80).map((r) => r.e),
      { quantile: 0.5, rank },
    );
    assert.equal(gate.dims, fitRows[0].e.length);
    assert.equal(gate.rank, rank ?? gate.dims);
    assert.equal(gate.wDigits.length, gate.dims * gate.rank);
    const gated = appendNoveltyGate(fused, gate);
    // Not the ungated model's figures: unmeasured until measured again.
    assert.equal(decodeModel(gated).metadata['spoken_digits.metrics'], '{}');
    const batch = features(60, 2);
    const before = await embedded(batch);
    const after = (await run(gated, batch, [MODEL_OUTPUT_NAME])).map(([p]) => p);
    let flagged = 0;
    before.forEach(({ p, e }, i) => {
      const novel = isNovel(gate, e);
      if (novel) flagged++;
      const digitMass = p.reduce((s, v, k) => (k === none ? s : s + v), 0);
      for (let k = 0; k < p.length; k++) {
        const want = !novel ? p[k] : k === none ? p[k] + 0.99 * digitMass : 0.01 * p[k];
        assert.ok(Math.abs(after[i][k] - want) < 1e-5, `row ${i} (score ${noveltyScore(gate, e).toFixed(3)} vs ${gate.threshold.toFixed(3)}) label ${k}: ${after[i][k]} vs ${want}`);
      }
      assert.ok(Math.abs(after[i].reduce((s, v) => s + v, 0) - 1) < 1e-5);
    });
    assert.ok(flagged > 5 && flagged < 55, `the test needs both cases: ${flagged} of 60 flagged`);
    const novelty = (parseModelMetadata(gated, 'gated').training as { novelty?: NoveltyRecord }).novelty;
    assert.equal(novelty?.quantile, 0.5);
    assert.equal(novelty?.rank, gate.rank);
    assert.ok(Math.abs(novelty!.threshold - gate.threshold) < 1e-3);
  });

  it('puts the threshold at the asked quantile of the training digits\' scores', async () => {
    const rows = await embedded(features(100, 3));
    const digits = rows.map((r) => r.e);
    const labels = rows.map((_, i) => i % 10);
    for (const quantile of [0.5, 0.9]) {
      const gate = fitNoveltyGate(digits, labels, rows.slice(0, 30).map((r) => r.e), { quantile });
      const over = digits.filter((e) => isNovel(gate, e)).length;
      assert.ok(Math.abs(over - (1 - quantile) * digits.length) <= 1, `${over} of ${digits.length} over the ${quantile} threshold`);
    }
  });

  it('refuses what it cannot gate, with a ModelError', async () => {
    const rows = await embedded(features(30, 4));
    const e = rows.map((r) => r.e);
    const labels = rows.map((_, i) => i % 10);
    const gate = fitNoveltyGate(e, labels, e);
    assert.throws(() => appendNoveltyGate(appendNoveltyGate(fused, gate), gate), ModelError);
    assert.throws(() => appendNoveltyGate(new Uint8Array(readFileSync('models/default.int8.onnx')), gate), /fp32/);
    assert.throws(() => fitNoveltyGate(e, labels, e, { quantile: 1 }), ModelError);
    assert.throws(() => fitNoveltyGate(e, labels, e, { shrink: 0 }), ModelError);
    for (const rank of [0, 2.5, e[0].length + 1]) assert.throws(() => fitNoveltyGate(e, labels, e, { rank }), /rank/);
    assert.throws(() => fitNoveltyGate(e, labels.slice(1), e), ModelError);
    assert.throws(() => fitNoveltyGate([...e.slice(1), e[0].map(() => NaN)], labels, e), /finite/);
    assert.throws(() => fitNoveltyGate(e.slice(0, 9), labels.slice(0, 9), e), /every digit/);
  });

  it('DigitRecognizer.graphOutputs gives the model\'s named outputs as predictBatch feeds it', async () => {
    const recognizer = await DigitRecognizer.load({ model: probe });
    const clips = [`${FSDD}/3_theo_0.wav`, `${FSDD}/7_lucas_1.wav`];
    const rows = await recognizer.graphOutputs(clips, [MODEL_OUTPUT_NAME, ...names]);
    const preds = await recognizer.predictBatch(clips);
    rows.forEach(([p, ...pools], i) => {
      assert.deepEqual(Array.from(p), Array.from(preds[i].probabilities));
      assert.equal(pools.length, names.length);
    });
    await assert.rejects(recognizer.graphOutputs(clips, ['m0/nothing']), ModelError);
    assert.deepEqual(await recognizer.graphOutputs([], names), []);
    await recognizer.dispose();
  });
});
