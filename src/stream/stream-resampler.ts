import { concatSamples } from '../audio/pcm.js';
import { AudioInputError } from '../errors.js';
import { listeningRate } from './decoder.js';

type Resample = (samples: Float32Array, fromRate: number, toRate: number) => Float32Array;

/** A stream on its way to a decoder: blocks in at the stream's rate, out at `toRate`. */
export interface DecoderInput {
  readonly toRate: number;
  push(block: Float32Array): Float32Array;
  flush(): Float32Array;
}

/**
 * What a stream at `rate` goes through on its way to a StreamDecoder: a StreamResampler to the rate it
 * is decoded at (`listeningRate`: 4-6.8 kHz and 192-384 kHz are not taken as they are), else nothing
 * (the blocks pass as they are, with no delay). `resample` is the DSP core's, needed only in the first case.
 */
export function decoderInput(rate: number, resample?: Resample): DecoderInput {
  const toRate = listeningRate(rate);
  if (toRate === rate) return { toRate, push: (block) => block, flush: () => new Float32Array(0) };
  if (!resample) throw new Error(`a stream at ${rate} Hz is decoded at ${toRate} Hz: decoderInput needs the core's resample`);
  return new StreamResampler(resample, rate, toRate);
}

/**
 * Refuses (AudioInputError) a stream at `rate` whose way to the model (`modelRate`, through the
 * decoder's `listeningRate`) the DSP core cannot resample: an in-range rate with a ratio too fine for
 * its filters (7999 Hz, 44099 Hz). Checked when the stream starts, not at its first word.
 */
export function checkStreamRate(rate: number, modelRate: number, resample: Resample, what: string): void {
  const heard = listeningRate(rate);
  try {
    const probe = new Float32Array(64);
    if (heard !== rate) resample(probe, rate, heard);
    if (heard !== modelRate) resample(probe, heard, modelRate);
  } catch (err) {
    throw new AudioInputError(`${what} ${rate} Hz cannot be listened to: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A stream resampled block by block with the DSP core's polyphase resampler, which takes one whole
 * clip at a time (FeatureBackend.resample). Each output sample is made once all the input its filter
 * reaches has arrived, from a call that also holds the input before it, so the stream comes out
 * exactly as the whole would resampled at once (test/stream/stream-resampler.test.ts compares them
 * bit for bit). The price is a delay of the filter's reach: 37 input samples (9 ms at 4 kHz) going up,
 * 37 output samples' worth going down.
 */
export class StreamResampler implements DecoderInput {
  private readonly up: number;
  private readonly down: number;
  /**
   * How far the core's filter reaches on either side of an output point, in input samples, rounded
   * up: 32 zero crossings of the lower rate at a roll-off of 0.915 (native/dsp/resampler.hpp) is
   * 35 at most when going up, times from/to going down.
   */
  private readonly reach: number;
  /** Input kept: from absolute input sample `start` (always a multiple of `down`) to what arrived last. */
  private pending: Float32Array = new Float32Array(0);
  private start = 0;
  /** The absolute index of the next output sample. */
  private next = 0;

  constructor(
    private readonly resample: Resample,
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    this.reach = Math.ceil(36 * Math.max(1, fromRate / toRate)) + 1;
  }

  /** The output samples the input so far completes. */
  push(block: Float32Array): Float32Array {
    // A clip per core call is bounded; an embedder may push minutes at once.
    const most = Math.max(this.fromRate, 4 * this.reach);
    if (block.length > most) {
      const parts: Float32Array[] = [];
      for (let i = 0; i < block.length; i += most) parts.push(this.push(block.subarray(i, i + most)));
      return concatSamples(parts);
    }
    this.pending = concatSamples([this.pending, block]);
    const end = this.start + this.pending.length;
    // The last output whose filter lies wholly before `end`: floor(m * down / up) + reach <= end - 1.
    return this.emit(Math.floor(((end - this.reach) * this.up - 1) / this.down));
  }

  /** The rest, the input taken to end here (as the core takes a clip's end). */
  flush(): Float32Array {
    const end = this.start + this.pending.length;
    const out = this.emit(Math.ceil((end * this.up) / this.down) - 1);
    this.pending = new Float32Array(0);
    return out;
  }

  private emit(last: number): Float32Array {
    if (last < this.next || this.pending.length === 0) return new Float32Array(0);
    const all = this.resample(this.pending, this.fromRate, this.toRate);
    // The kept input starts at a multiple of `down`, so its first output is a whole output index.
    const first = (this.start / this.down) * this.up;
    const out = all.slice(this.next - first, last + 1 - first);
    this.next = last + 1;
    const needed = Math.floor((this.next * this.down) / this.up) - this.reach;
    const keepFrom = Math.max(this.start, Math.floor(needed / this.down) * this.down);
    this.pending = this.pending.slice(keepFrom - this.start);
    this.start = keepFrom;
    return out;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
