import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32ToInt16 } from '../../src/audio/index.js';
import { loadNativeCapture } from '../../src/stream/core.js';
import { skipWhereMissing } from '../built-dist.js';

/** Skips a capture test where the addon cannot capture (built without PortAudio); under CI, which builds it with PortAudio, fails. */
export function skipWithoutCapture(context: Mocha.Context): void {
  const capture = loadNativeCapture();
  skipWhereMissing(context, 'binding' in capture ? null : `no PortAudio capture: ${capture.unavailable}`);
}

/**
 * An ALSA configuration whose default capture device plays a raw S16_LE file (ALSA's `file`
 * plugin over a `null` slave), so real PortAudio capture runs without a sound card. The file
 * plugin delivers as fast as the reader pulls and repeats stale data past the end, so the audio
 * is padded with silence and callers read a known number of frames.
 */
export interface AlsaFileDevice {
  configPath: string;
  dir: string;
  remove(): void;
}

export function makeAlsaFileDevice(samples: Float32Array, sampleRate: number, padSeconds = 4): AlsaFileDevice {
  const dir = mkdtempSync(join(tmpdir(), 'sd-alsa-'));
  const raw = join(dir, 'in.raw');
  const pcm = Buffer.alloc((samples.length + Math.round(padSeconds * sampleRate)) * 2);
  float32ToInt16(samples).forEach((v, i) => pcm.writeInt16LE(v, i * 2)); // the rest stays silent padding
  writeFileSync(raw, pcm);
  const configPath = join(dir, 'asound.conf');
  writeFileSync(
    configPath,
    `pcm.!default {
  type asym
  playback.pcm { type null }
  capture.pcm {
    type plug
    slave {
      pcm { type file; slave.pcm { type null }; file "/dev/null"; infile "${raw}"; format "raw" }
      format S16_LE
      rate ${sampleRate}
      channels 1
    }
  }
}
`,
  );
  return { configPath, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A configuration whose only device cannot capture: "no microphone". (A configuration with no
 * devices at all trips an assertion inside PortAudio 19.6's ALSA enumeration, which aborts.)
 */
export function makeEmptyAlsaConfig(): AlsaFileDevice {
  const dir = mkdtempSync(join(tmpdir(), 'sd-alsa-'));
  const configPath = join(dir, 'asound.conf');
  writeFileSync(configPath, 'pcm.!default {\n  type asym\n  playback.pcm { type null }\n}\n');
  return { configPath, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
