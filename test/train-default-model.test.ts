import assert from 'node:assert/strict';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { SATURATION_FREE_INT8_PEAK } from '../src/model/int8-cpu.js';
import { speechCutter } from '../src/stream/core.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ort } from '../src/model/ort.js';
import { listFsddClips } from '../src/data/clips.js';
import { officialSplit } from '../src/data/splits.js';
import { featureConfigFromJSON, featureDimension } from '../src/features/config.js';
import { loadFeatureBackend } from '../src/features/index.js';

// Under mocha the auto choice can see two copies of the error class (CJS + ESM loads of the
// same file) and miss the native-to-wasm fallback; ask for wasm explicitly when native is absent.
const anyFeatureBackend = () => loadFeatureBackend().catch(() => loadFeatureBackend({ backend: 'wasm' }));
import { METADATA_KEYS } from '../src/model/metadata.js';
import { decodeModel } from '../src/train/onnx/graph.js';
import { loadAudio } from '../src/train/dataset.js';
import { FSDD_RECORDINGS as FSDD } from './fsdd.js';

const MODELS = path.resolve(import.meta.dirname, '..', 'models');

/**
 * The shipped default model does what its card says: the FSDD official test split (300 clips),
 * features from the DSP core with the config stored in the model, onnxruntime-node for inference.
 */
describe('train: shipped default model', function () {
  this.timeout(60000);
  const card = JSON.parse(fs.readFileSync(path.join(MODELS, 'default.card.json'), 'utf8'));

  for (const [file, key] of [
    ['default.onnx', 'fp32'],
    ['default.int8.onnx', 'int8'],
  ] as const) {
    it(`${file} reaches the test accuracy its card claims`, async function () {
      const claimed: number | undefined = card.metrics?.[key]?.testAccuracy ?? (key === 'fp32' ? card.metrics?.testAccuracy : undefined);
      // The default model ships in the repository and the package (README: works right after install).
      assert.ok(fs.existsSync(path.join(MODELS, file)), `models/${file} is missing`);
      assert.ok(typeof claimed === 'number', `the card has no ${key} test accuracy`);
      const bytes = fs.readFileSync(path.join(MODELS, file));
      const meta = decodeModel(bytes).metadata;
      const config = featureConfigFromJSON(meta[METADATA_KEYS.featureConfig]);
      const labels: string[] = JSON.parse(meta[METADATA_KEYS.labels]);
      const backend = await anyFeatureBackend();
      const extractor = backend.createExtractor(config);
      const test = officialSplit(listFsddClips(FSDD)).test;
      assert.equal(test.length, 300);
      // Cut to their speech as the recognizer cuts them, when the model says it was trained so.
      const cut = await speechCutter(parseModelMetadata(bytes, file).speechTrim, config.sampleRate);
      const audio = loadAudio(test, config.sampleRate, backend, cut);
      const frames = config.numFrames;
      const dims = featureDimension(config);
      const batch = new Float32Array(test.length * frames * dims);
      audio.forEach((a, i) => batch.set(extractor.compute(a).data, i * frames * dims));
      extractor.dispose();
      const session = await ort.InferenceSession.create(bytes);
      const out = await session.run({ features: new ort.Tensor('float32', batch, [test.length, frames, dims]) });
      const probs = out.probabilities.data as Float32Array;
      let correct = 0;
      test.forEach((c, i) => {
        const row = probs.subarray(i * labels.length, (i + 1) * labels.length);
        let best = 0;
        for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
        if (labels[best] === String(c.digit)) correct++;
      });
      const accuracy = correct / test.length;
      // One clip of slack: the card was measured with tfjs (or the other feature backend), and a
      // clip on a decision boundary may flip between float implementations.
      assert.ok(accuracy >= claimed - 1 / 300 - 1e-9, `${file}: ${(100 * accuracy).toFixed(2)}% on the test split, card claims ${(100 * claimed).toFixed(2)}%`);
    });
  }

  it('default.int8.onnx is the file its card describes and within the 150 KB size target', function () {
    const file = path.join(MODELS, 'default.int8.onnx');
    const bytes = fs.statSync(file).size;
    assert.equal(bytes, card.files['default.int8.onnx'].bytes);
    assert.ok(bytes <= 150 * 1024, `default.int8.onnx is ${(bytes / 1024).toFixed(1)} KB`);
  });

  it('every shipped int8 file keeps its 8-bit weights where no CPU saturates them (within ±64)', function () {
    const files = fs.readdirSync(MODELS).filter((f) => f.endsWith('.int8.onnx'));
    assert.ok(files.length >= 2, `shipped int8 files: ${files}`);
    for (const f of files) {
      const peak = parseModelMetadata(fs.readFileSync(path.join(MODELS, f)), f).int8WeightPeak;
      assert.ok(peak > 0 && peak <= SATURATION_FREE_INT8_PEAK, `${f}: 8-bit weights up to ${peak}`);
    }
  });
});
