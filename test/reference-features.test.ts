/**
 * Features against a third-party reference and native against wasm.
 *
 * Fixtures: test/fixtures/reference-features (made by scripts/make-reference-features.py with
 * torchaudio in float64 using librosa's definitions; 24 FSDD clips + 8 synthetic signals, eight
 * configs covering slaney/htk, norm slaney/none, hann/hamming, constant/reflect padding,
 * pre-emphasis, power/magnitude, dB with fixed/peak reference and top_db, natural log, PCEN
 * (our numpy reading of librosa.pcen's formula on torchaudio's mel energies), MFCC with deltas,
 * spectrogram). The input samples are stored in the fixtures, so no Python and no dataset are needed.
 *
 * Tolerances, per value:
 *  - vs reference: |ours - reference| <= 1e-3 in the feature's own unit (dB for log-mel and
 *    spectrogram, the DCT of dB for MFCC, nats for the ln config) — absolute, not relative.
 *  - native vs wasm: |native - wasm| <= 1e-5 * max(1, |wasm|) (relative above 1, absolute below,
 *    so near-zero cepstral coefficients do not make a relative test meaningless).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureBackend } from '../src/features/backend.js';
import { resolveFeatureConfig, type FeatureConfig } from '../src/features/config.js';
import { createNativeBackend } from '../src/features/native.js';
import { createWasmBackend } from '../src/features/wasm.js';

interface BlobRef {
  offset: number;
  length: number;
}
interface Index {
  reference: string;
  configs: Record<string, Partial<FeatureConfig>>;
  signals: Array<{ name: string; samples: BlobRef }>;
  features: Array<{ config: string; signal: string; frames: number; dims: number; data: BlobRef }>;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'reference-features');
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Index;
const blob = readFileSync(join(dir, 'data.bin'));
const floats = (r: BlobRef) => new Float32Array(blob.buffer.slice(blob.byteOffset + r.offset, blob.byteOffset + r.offset + 4 * r.length));
const signals = new Map(index.signals.map((s) => [s.name, floats(s.samples)]));

const REFERENCE_TOLERANCE = 1e-3;
const BACKEND_TOLERANCE = 1e-5;

describe(`features vs reference (${index.reference}) and native vs wasm`, () => {
  let native: FeatureBackend;
  let wasm: FeatureBackend;
  before(async () => {
    native = createNativeBackend();
    wasm = await createWasmBackend();
  });

  it('the fixtures cover >= 20 FSDD clips and sines, chirp, silence and clipping', () => {
    const names = [...signals.keys()];
    assert.ok(names.filter((n) => n.startsWith('fsdd/')).length >= 20);
    for (const kind of ['sine', 'chirp', 'silence', 'clipped']) assert.ok(names.some((n) => n.includes(kind)), kind);
  });

  for (const [configName, partial] of Object.entries(index.configs)) {
    it(`${configName}: both backends match the reference within ${REFERENCE_TOLERANCE} and each other within ${BACKEND_TOLERANCE} relative`, () => {
      const config = resolveFeatureConfig(partial);
      const exN = native.createExtractor(config);
      const exW = wasm.createExtractor(config);
      let worstRef = 0;
      let worstRefWhere = '';
      let worstPair = 0;
      const entries = index.features.filter((f) => f.config === configName);
      assert.ok(entries.length >= 8);
      for (const entry of entries) {
        const x = signals.get(entry.signal)!;
        const expected = floats(entry.data);
        const a = exN.compute(x);
        const b = exW.compute(x);
        assert.equal(a.frames, entry.frames, `${entry.signal}: frames`);
        assert.equal(a.dims, entry.dims, `${entry.signal}: dims`);
        assert.equal(b.frames, entry.frames);
        for (let i = 0; i < expected.length; i++) {
          for (const got of [a.data[i], b.data[i]]) {
            const d = Math.abs(got - expected[i]);
            if (!(d <= worstRef)) {
              worstRef = d;
              worstRefWhere = `${entry.signal} frame ${Math.floor(i / entry.dims)} dim ${i % entry.dims}: ${got} vs ${expected[i]}`;
            }
          }
          const rel = Math.abs(a.data[i] - b.data[i]) / Math.max(1, Math.abs(b.data[i]));
          if (!(rel <= worstPair)) worstPair = rel;
        }
      }
      exN.dispose();
      exW.dispose();
      assert.ok(worstRef <= REFERENCE_TOLERANCE, `worst difference to the reference ${worstRef} at ${worstRefWhere}`);
      assert.ok(worstPair <= BACKEND_TOLERANCE, `native vs wasm differ by ${worstPair} (relative)`);
    });
  }
});
