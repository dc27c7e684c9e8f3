import { decodeWav } from '../../audio/wav.js';
import { WavFormatError } from '../../errors.js';

/** Bytes of a dropped file -> mono samples. WAV goes through the project's own decoder (same as the CLI). */
export async function decodeFile(bytes: ArrayBuffer, name: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const head = new Uint8Array(bytes, 0, Math.min(12, bytes.byteLength));
  const riff = String.fromCharCode(...head.subarray(0, 4));
  if (riff === 'RIFF' || riff === 'RIFX' || riff === 'RF64' || name.toLowerCase().endsWith('.wav')) {
    const audio = decodeWav(new Uint8Array(bytes));
    return { samples: audio.samples, sampleRate: audio.sampleRate };
  }
  // Not WAV: let the browser try (mp3/ogg/flac) at a fixed rate; the DSP core resamples from there.
  try {
    const ctx = new OfflineAudioContext(1, 1, 48000);
    const buf = await ctx.decodeAudioData(bytes.slice(0));
    const samples = new Float32Array(buf.length);
    for (let c = 0; c < buf.numberOfChannels; c++) {
      const ch = buf.getChannelData(c);
      for (let i = 0; i < ch.length; i++) samples[i] += ch[i] / buf.numberOfChannels;
    }
    return { samples, sampleRate: buf.sampleRate };
  } catch (err) {
    throw new WavFormatError(`${name} is neither a WAV file nor audio this browser can decode`, { cause: err });
  }
}
