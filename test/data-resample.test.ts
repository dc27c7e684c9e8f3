import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../src/features/wasm.js';
import type { FeatureBackend } from '../src/features/backend.js';
import { listFsddClips, loadClips } from '../src/data/index.js';
import { readWavFileSync } from '../src/audio/index.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wav');

describe('data: clips at other rates are resampled by the DSP core', () => {
  let backend: FeatureBackend;
  let tmp: string;
  before(async () => {
    backend = await createWasmBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-rs-'));
    fs.copyFileSync(path.join(fixtures, 'r44100.wav'), path.join(tmp, '3_x_0.wav'));
    fs.copyFileSync(path.join(fixtures, 'r96000-s24.wav'), path.join(tmp, '3_x_1.wav'));
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, '3_x_2.wav'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('44.1 kHz and 96 kHz copies come back at 8 kHz, close to the 8 kHz original', () => {
    const original = readWavFileSync(path.join(fixtures, 's16.wav')).samples;
    const loaded = loadClips(listFsddClips(tmp), { sampleRate: 8000, backend });
    for (const clip of loaded) {
      assert.equal(clip.sampleRate, 8000);
      assert.ok(Math.abs(clip.samples.length - original.length) <= 2, `${clip.path}: ${clip.samples.length} samples`);
      // sox's and our resampler differ in filter design: compare by correlation, not sample by sample
      let dot = 0, ea = 0, eb = 0;
      const n = Math.min(clip.samples.length, original.length);
      for (let i = 0; i < n; i++) {
        dot += clip.samples[i] * original[i];
        ea += clip.samples[i] ** 2;
        eb += original[i] ** 2;
      }
      const corr = dot / Math.sqrt(ea * eb);
      assert.ok(corr > 0.999, `${path.basename(clip.path)}: correlation ${corr.toFixed(4)}`);
    }
  });
});
