import { readWavInfo, decodeWav } from '../../audio/wav.js';
import { AudioInputError, WavFormatError } from '../../errors.js';

/** The longest file the batch takes, seconds (as the WAV reader's whole-file limit). */
export const MAX_BATCH_SECONDS = 600;

/** "10 min 1 s": a length just over the limit never reads as the limit itself. */
function minutesAndSeconds(seconds: number): string {
  const whole = Math.ceil(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

function tooLong(name: string, seconds: number): AudioInputError {
  return new AudioInputError(
    `${name} is ${minutesAndSeconds(seconds)} long; the batch takes clips of up to ${MAX_BATCH_SECONDS / 60} minutes (\`digits listen --input FILE\` reads long recordings)`,
  );
}

/**
 * Bytes of a dropped file -> mono samples. WAV goes through the project's own decoder (same as the
 * CLI); other formats through the browser's, at `rate` (it resamples as it decodes: a compressed
 * hour at 48 kHz would hold a gigabyte of floats), their length checked before they are mixed down.
 */
export async function decodeFile(bytes: ArrayBuffer, name: string, rate = 48000): Promise<{ samples: Float32Array; sampleRate: number }> {
  const head = new Uint8Array(bytes, 0, Math.min(12, bytes.byteLength));
  const riff = String.fromCharCode(...head.subarray(0, 4));
  if (riff === 'RIFF' || riff === 'RIFX' || riff === 'RF64' || name.toLowerCase().endsWith('.wav')) {
    const wav = new Uint8Array(bytes);
    // A header that reads is checked for length first, in the page's words; one that does not is refused by decodeWav below.
    let seconds = 0;
    try {
      seconds = readWavInfo(wav).durationSec;
    } catch {
      // decodeWav says what is wrong with it.
    }
    if (seconds > MAX_BATCH_SECONDS) throw tooLong(name, seconds);
    const audio = decodeWav(wav, { name });
    return { samples: audio.samples, sampleRate: audio.sampleRate };
  }
  // Not WAV: let the browser try (mp3/ogg/flac); the DSP core resamples from its rate.
  let buf: AudioBuffer;
  try {
    const ctx = new OfflineAudioContext(1, 1, rate);
    buf = await ctx.decodeAudioData(bytes.slice(0));
  } catch (err) {
    throw new WavFormatError(`${name} is neither a WAV file nor audio this browser can decode (or too long for it to decode whole)`, { cause: err });
  }
  if (buf.duration > MAX_BATCH_SECONDS) throw tooLong(name, buf.duration);
  const samples = new Float32Array(buf.length);
  for (let c = 0; c < buf.numberOfChannels; c++) {
    const ch = buf.getChannelData(c);
    for (let i = 0; i < ch.length; i++) samples[i] += ch[i] / buf.numberOfChannels;
  }
  return { samples, sampleRate: buf.sampleRate };
}
