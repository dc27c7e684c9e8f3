// Browser-safe (the kiosk runs this same decision logic on the wasm core): no Node imports here.
import { heardNoWord } from '../model/decision.js';
import { countFlatAtFullScale } from '../audio/pcm.js';
import { DEFAULT_SPEECH_TRIM, NOT_A_DIGIT_LABEL } from '../model/metadata.js';
import { AudioInputError, checkFlagOrObject, checkOptions, checkOptionTypes, OptionsError, type EveryKey } from '../errors.js';
import type { StreamCore, VadEvent, VadHandle, VadOptions } from './core.js';
import {
  DEFAULT_EARLY_PAUSE_MS,
  DEFAULT_QUIET_PAUSE_DB,
  DEFAULT_QUIET_PAUSE_MS,
  DEFAULT_MIN_SPEECH_MS,
  DEFAULT_SURE_ANY_LENGTH_DB,
  checkSplitOptions,
  contourValleys,
  surePauses,
  splitSegment,
  type SegmentClassifier,
  type SegmentPrediction,
  type SplitOptions,
} from './segmenter.js';

export interface SpeechStartEvent {
  /** Where the segment starts (pre-roll included), ms from the start of the stream. */
  startMs: number;
}

/**
 * Closes every `speechstart`: where the segment ended, and why. After the events of what it held
 * (digit, rejected), unless the endpointer dropped it unheard (`dropped`): too short for a word (a
 * click, a bump), unvoiced (noise, breath) or tonal (a beep, music) — no model run, no other event.
 */
export interface SpeechEndEvent {
  /** As its speechstart's. */
  startMs: number;
  /** Where the segment ends (post-roll included), ms from the start of the stream. */
  endMs: number;
  /**
   * Kept: after a pause ('silence'), at the longest utterance ('max-length'), at the end of the stream
   * ('flush'). Let go: 'too-short', 'unvoiced', 'tonal' — `dropped` unless a piece of it was recognized
   * early (a digit followed by a beep: the digit stands, the beep is not heard).
   */
  reason: Exclude<VadEvent['reason'], 'none'>;
  /** Nothing of the segment was heard: no digit or rejected event came from it. */
  dropped: boolean;
}

export interface DigitEvent {
  digit: number;
  confidence: number;
  startMs: number;
  endMs: number;
  /**
   * From the end of this digit's speech (where the endpointer last heard it, or for a digit cut
   * from a longer segment, the end of its own speech) to the event: the silence heard before
   * deciding (SplitOptions.earlyPauseMs, or the hangover) plus the compute time. Capture buffering
   * of a live source comes on top.
   */
  latencyMs: number;
  /** Wall-clock time spent classifying the segment (all its pieces). Both times are rounded to 0.01 ms. */
  computeMs: number;
  /** How much of the stream (ms) had been heard when this digit was decided; the event came computeMs later. */
  decidedAtMs: number;
}

export interface RejectedEvent {
  startMs: number;
  endMs: number;
  /** The most probable digit anyway (null if unknown), and its probability. */
  candidate: number | null;
  confidence: number;
  /** The model's "not a digit" class won, the best digit was below the threshold, or no word was heard: too quiet or too brief (a click). */
  reason: 'not-a-digit' | 'low-confidence' | 'silence' | 'too-short';
}

export interface StringEvent {
  /** The digits in order, e.g. "4155550123". */
  digits: string;
  startMs: number;
  endMs: number;
  confidences: number[];
}

export interface LevelEvent {
  timeMs: number;
  /** Loudest 10 ms of the interval, dBFS. */
  levelDb: number;
  noiseDb: number;
  speech: boolean;
  /**
   * The share of the interval's samples (0-1) flat at full scale (as clippedShare measures a clip):
   * CLIPPED_NOTE_SHARE (1%) or more means the input is too loud, and what is said in it may be misheard.
   * A share of the interval (levelIntervalMs): a brief burst counts for less in a longer one (5 ms
   * clipped is 10% of a 50 ms interval, 2% of 250 ms).
   */
  clipped: number;
}

/** The stream's summary: the `end` event, and what Listener.run() / end() resolve to. */
export interface EndEvent {
  /** How much audio was heard, ms. */
  durationMs: number;
  /** How many digit events it gave (a `string` event's `digits` is the digits themselves). */
  digitCount: number;
  /** How many rejected events it gave. */
  rejectedCount: number;
}

/**
 * Rates the decoder takes: the endpointer watches 300-3400 Hz (so at least 6800 Hz) and is built
 * for up to 192 kHz. A Listener resamples a stream at another rate (`listeningRate`); a decoder
 * given one refuses it with a typed error rather than mis-endpointing it.
 */
export const MIN_STREAM_RATE = 6800;
export const MAX_STREAM_RATE = 192000;

export function checkStreamRate(sampleRate: number): void {
  if (!(Number.isInteger(sampleRate) && sampleRate >= MIN_STREAM_RATE && sampleRate <= MAX_STREAM_RATE)) {
    throw new AudioInputError(
      `the stream decoder takes audio at ${MIN_STREAM_RATE}-${MAX_STREAM_RATE} Hz, whole numbers (its endpointer watches 300-3400 Hz), got ${sampleRate} Hz; resample it first (a Listener does), e.g. sox in.wav -r 16000 out.wav`,
    );
  }
}

/** The rate a stream at `sampleRate` is decoded at: its own when the decoder takes it, else 8 kHz from below, 48 kHz from above. */
export function listeningRate(sampleRate: number): number {
  return sampleRate < MIN_STREAM_RATE ? 8000 : sampleRate > MAX_STREAM_RATE ? 48000 : sampleRate;
}

/** Why the endpointer heard no word in a clip (unheardWord): the reason it let the sound go, or 'nothing' when no sound stood out. */
export type UnheardReason = 'too-short' | 'unvoiced' | 'tonal' | 'nothing';

/** What each UnheardReason means, in the words an error message uses. */
export const UNHEARD_WHY: Readonly<Record<UnheardReason, string>> = {
  'too-short': 'only a sound too short for a word (a click, a tap)',
  unvoiced: 'no voiced sound, only noise or breath',
  tonal: 'a steady tone (a beep, a hum), not speech',
  nothing: 'nothing that stands out from its background',
};

/** Faint dither around a clip in unheardWord (-70 dBFS peak): a room's quiet, so the endpointer's noise floor starts where a recording's would. */
const UNHEARD_DITHER = 3e-4;

/**
 * Whether the stream's endpointer (at its default settings) would hear a word in `samples`, a clip
 * that should hold one (an enrollment clip): null when it keeps a segment of it, else why not. The
 * clip is heard between 0.3 s of faint dither before and 0.5 s after, as a recording's room would be
 * around it (with digital silence around them, 3 of FSDD's 3,000 clips opened no segment; with the
 * dither all 3,000 are kept, as are espeak-ng's 1,200 digit clips and the Asterisk voice's). A rate
 * the endpointer does not take (checkStreamRate) is a typed error: resample to listeningRate first.
 */
export function unheardWord(core: StreamCore, samples: Float32Array, sampleRate: number): UnheardReason | null {
  checkStreamRate(sampleRate);
  const before = Math.round(0.3 * sampleRate);
  const padded = new Float32Array(before + samples.length + Math.round(0.5 * sampleRate));
  // A fixed linear congruential sequence: the same clip gets the same answer every time.
  let state = 12345;
  for (let i = 0; i < padded.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    padded[i] = (state / 2 ** 32 - 0.5) * 2 * UNHEARD_DITHER;
  }
  for (let i = 0; i < samples.length; i++) padded[before + i] += samples[i];
  const vad = core.createVad(vadSettings({}, sampleRate));
  try {
    const closed = [...vad.process(padded), ...vad.flush()].filter((e) => e.type !== 'start');
    if (closed.some((e) => e.type === 'end')) return null;
    const reasons = closed.map((e) => e.reason).filter((r): r is Exclude<UnheardReason, 'nothing'> => r === 'too-short' || r === 'unvoiced' || r === 'tonal');
    // Several sounds let go (a click, then noise): the first names the reason.
    return reasons[0] ?? 'nothing';
  } finally {
    vad.dispose?.();
  }
}

const DECODER_KEYS = ['threshold', 'sensitivity', 'stringPauseMs', 'stringThreshold', 'levelIntervalMs', 'vad', 'split'] as const;
/** Every DecoderOptions key (checked at compile time), for the listeners' checkOptions. */
export const DECODER_OPTIONS: EveryKey<DecoderOptions, typeof DECODER_KEYS> = DECODER_KEYS;

const VAD_KEYS = ['onsetMs', 'hangoverMs', 'minSpeechMs', 'maxSpeechMs', 'minVoicedMs', 'preRollMs', 'postRollMs', 'minLevelDb', 'initialNoiseDb'] as const;
const VAD_OPTIONS: EveryKey<NonNullable<DecoderOptions['vad']>, typeof VAD_KEYS> = VAD_KEYS;

/**
 * The options both listeners (Node's and the browser's) take, checked before anything loads: the
 * decoder's and the adaptation switches. A misspelt or misused `vad` or `split` key, a value of
 * the wrong type or out of its range is an OptionsError naming it (`what`: who was given the
 * options, e.g. "Listener.create"; the endpointer's own values are checked by the core when it is made).
 */
export function checkListenerOptions(options: DecoderOptions & { adaptVoice?: unknown; adaptNorm?: unknown; adaptInBackground?: unknown }, what: string, allowAuto = false): void {
  checkOptionTypes(options, { threshold: 'number', sensitivity: 'number', stringPauseMs: 'number', stringThreshold: 'number', levelIntervalMs: 'number' }, what);
  const background = options.adaptInBackground;
  if (background !== undefined && typeof background !== 'boolean' && !(background === 'auto' && allowAuto)) {
    throw new OptionsError(`${what}: adaptInBackground must be true, false${allowAuto ? " or 'auto'" : ''}, got ${JSON.stringify(background) ?? String(background)}`);
  }
  checkFlagOrObject(options.adaptVoice, 'adaptVoice', what);
  checkFlagOrObject(options.adaptNorm, 'adaptNorm', what);
  checkOptions(options.vad, VAD_OPTIONS, `${what}: vad`);
  for (const [key, value] of Object.entries(options.vad ?? {})) {
    if (value !== undefined && typeof value !== 'number') throw new OptionsError(`${what}: vad.${key} must be a number, got ${JSON.stringify(value)}`);
  }
  checkSplitOptions(options.split, `${what}: split`);
  for (const name of ['threshold', 'sensitivity', 'stringThreshold'] as const) {
    const v = options[name];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new OptionsError(`${name} must be in 0..1, got ${v}`);
  }
  if (options.stringPauseMs !== undefined && !(options.stringPauseMs > 0 && options.stringPauseMs <= 600_000)) {
    throw new OptionsError(`stringPauseMs must be > 0 and at most 600000 (10 minutes), got ${options.stringPauseMs}`);
  }
  // The endpointer measures levels per 10 ms hop: a shorter interval would repeat them.
  if (options.levelIntervalMs !== undefined && !(options.levelIntervalMs >= 10 && options.levelIntervalMs <= 600_000)) {
    throw new OptionsError(`levelIntervalMs must be from 10 to 600000, got ${options.levelIntervalMs}`);
  }
}

/** The endpointer's settings for a stream at `sampleRate`, with the defaults the decoder relies on (native/dsp/vad.h). */
function vadSettings(opts: DecoderOptions, sampleRate: number) {
  const v = opts.vad ?? {};
  return { ...v, hangoverMs: v.hangoverMs ?? 120, postRollMs: v.postRollMs ?? 60, preRollMs: v.preRollMs ?? 120, maxSpeechMs: v.maxSpeechMs ?? 4000, sampleRate, sensitivity: opts.sensitivity ?? 0.5 };
}

/**
 * The endpointer settings in `options` as the core takes them (each alone in range, and together:
 * a post-roll within the hangover, a maximum length over the minimum): an OptionsError naming what
 * is wrong when the listener is made, not at its first audio.
 */
export function checkVadSettings(core: StreamCore, options: DecoderOptions, what: string): void {
  // The core is the judge (the TypeScript does not repeat its rules): an endpointer made only to see
  // that it can be, and freed at once (the wasm core's would hold its module heap until collected).
  let vad: VadHandle;
  try {
    vad = core.createVad(vadSettings(options, 16000));
  } catch (err) {
    throw new OptionsError(`${what}: ${(err as Error).message}`);
  }
  vad.dispose?.();
}

/** What a StreamDecoder reports while it is fed. */
export interface DecoderEvents {
  speechstart: SpeechStartEvent;
  speechend: SpeechEndEvent;
  digit: DigitEvent;
  rejected: RejectedEvent;
  string: StringEvent;
  level: LevelEvent;
}

/**
 * Receives every decoder event. For `digit` and `rejected`, `prediction` is the classifier's answer
 * for that piece (a page shows its probabilities and features; the Listener drops it).
 */
export type DecoderSink = <K extends keyof DecoderEvents>(type: K, event: DecoderEvents[K], prediction?: SegmentPrediction) => void;

export interface DecoderOptions {
  /**
   * Minimum confidence for a digit event. Default: the recognizer's own decision (`isDigit`,
   * which applies the model's calibrated rejection threshold).
   */
  threshold?: number;
  /** VAD sensitivity 0..1 (default 0.5): higher opens segments on quieter sounds. */
  sensitivity?: number;
  /** Silence after the last digit that closes a string. Default 1000 ms. */
  stringPauseMs?: number;
  /**
   * Minimum confidence for a digit while a string is open (the previous digit ended less than
   * stringPauseMs ago); the "not a digit" class still rejects. Default 0.8 x the threshold: on FSDD
   * test-clip strings (3 x 120, seeds 5-7, not the benchmark's) 321 -> 331 whole strings right.
   */
  stringThreshold?: number;
  /** Interval between level events, ms of audio. Default 50. */
  levelIntervalMs?: number;
  /** Other endpointer settings (hangover, minimum/maximum utterance length, ...). */
  vad?: Partial<Omit<VadOptions, 'sampleRate' | 'sensitivity'>>;
  /** Connected-digit splitting; false classifies each segment whole. */
  split?: SplitOptions | false;
}

/**
 * An open segment is searched for a sure pause (SplitOptions.earlySplit) at every endpointer hop, and
 * a pause is found once this much audio follows it (the splitter's own minPieceMs, 150 ms, would
 * hold digits run together back ~70 ms longer: on 120 FSDD strings with 0-100 ms pauses, digit
 * events over 250 ms after their speech 133 with it, 103 with 80 ms, of 847; errors 6.1 / 6.0%; both
 * measured before EARLY_SPLIT_SHALLOWER_DB).
 */
const EARLY_SPLIT_AFTER_MS = 80;

/**
 * Speech split off early at a sure pause is let out only when every piece of it is a digit whose
 * "not a digit" probability is at most this; otherwise it waits for the segment's end (and the
 * whole-word check). Words split at a closure are what it keeps out: on the development words
 * (bench/stream-errors.ts --words dev) 47 early digits without it, none with it; digits run together
 * (FSDD strings, seed 7, 0-100 ms pauses) 217 early, 199 with it.
 */
const EARLY_SPLIT_NONE_MAX = 0.02;

/**
 * Because of that check, the early search also takes valleys this much shallower than the
 * splitter's very deep ones (SplitOptions.sureAnyLengthDb, 28 -> 22 dB), which the splitter itself
 * would only weigh. On FSDD strings with 0-100 ms pauses (seed 7, bench/stream-errors.ts) 83 -> 91
 * of 120 strings right; development words' false digits unchanged (61).
 */
const EARLY_SPLIT_SHALLOWER_DB = 6;

/** A piece that is a digit and (the model has a "not a digit" class) surely not another word (EARLY_SPLIT_NONE_MAX). */
function surelyDigit(p: SegmentPrediction): boolean {
  const none = p.labels?.indexOf(NOT_A_DIGIT_LABEL) ?? -1;
  return p.isDigit && p.digit !== null && none >= 0 && p.probabilities !== undefined && p.probabilities[none] <= EARLY_SPLIT_NONE_MAX;
}

/** Rolling copy of the last few seconds of the stream, addressed by absolute sample position. */
class History {
  private buf: Float32Array;
  private written = 0;
  constructor(capacity: number) {
    this.buf = new Float32Array(capacity);
  }
  append(x: Float32Array): void {
    const cap = this.buf.length;
    if (x.length > cap) {
      this.written += x.length - cap;
      x = x.subarray(x.length - cap);
    }
    const at = this.written % cap;
    const first = Math.min(x.length, cap - at);
    this.buf.set(x.subarray(0, first), at);
    if (first < x.length) this.buf.set(x.subarray(first), 0);
    this.written += x.length;
  }
  /** Copy of [start, end); positions older than the capacity are clipped away. */
  slice(start: number, end: number): Float32Array {
    [start, end] = this.clip(start, end);
    const cap = this.buf.length;
    const out = new Float32Array(Math.max(0, end - start));
    for (let i = 0; i < out.length; ) {
      const at = (start + i) % cap;
      const n = Math.min(out.length - i, cap - at);
      out.set(this.buf.subarray(at, at + n), i);
      i += n;
    }
    return out;
  }
  /**
   * [start, end) without a copy where it does not wrap around the ring (else a copy, as slice): valid
   * only until the next append, so for synchronous use.
   */
  view(start: number, end: number): Float32Array {
    [start, end] = this.clip(start, end);
    const cap = this.buf.length;
    const at = start % cap;
    return at + (end - start) <= cap ? this.buf.subarray(at, at + Math.max(0, end - start)) : this.slice(start, end);
  }
  private clip(start: number, end: number): [number, number] {
    return [Math.max(start, this.written - this.buf.length, 0), Math.min(end, this.written)];
  }
}

/**
 * The band contour of the open audio not yet recognized (the early split's valley search looks at it
 * at every hop): kept from hop to hop, so each hop analyses only the newest few 10 ms frames instead
 * of all of the open audio again (the search was O(n^2) in the length of the open speech).
 */
class OpenContour {
  private bandDb = new Float32Array(512);
  private settled = 0;
  private start = -1;
  constructor(
    private readonly core: StreamCore,
    private readonly sampleRate: number,
  ) {}

  /** The contour of `audio`, which starts at stream position `start` (a new start begins a new contour). */
  update(start: number, audio: Float32Array): Float32Array {
    if (start !== this.start) {
      this.start = start;
      this.settled = 0;
    }
    const part = this.core.bandContour(audio, this.sampleRate, this.settled);
    const hops = this.settled + part.bandDb.length;
    if (hops > this.bandDb.length) {
      const grown = new Float32Array(Math.max(hops, 2 * this.bandDb.length));
      grown.set(this.bandDb.subarray(0, this.settled));
      this.bandDb = grown;
    }
    this.bandDb.set(part.bandDb, this.settled);
    this.settled = part.settledHops;
    return this.bandDb.subarray(0, hops);
  }

  /**
   * The whole contour of `samples`, which start at stream position `start` (what bandContour makes
   * from hop 0): the hops kept here are reused where `samples` frame them alike (the open audio
   * began at `start` and the hop's frame ends inside `samples`), the rest are analysed.
   */
  of(start: number, samples: Float32Array): Float32Array {
    const hops = Math.floor(samples.length / Math.max(1, Math.floor(this.sampleRate / 100)));
    let known = start === this.start ? Math.min(this.settled, hops) : 0;
    let part = this.core.bandContour(samples, this.sampleRate, known);
    if (part.settledHops < known) {
      known = part.settledHops;
      part = this.core.bandContour(samples, this.sampleRate, known);
    }
    if (known === 0) return part.bandDb;
    const out = new Float32Array(hops);
    out.set(this.bandDb.subarray(0, known));
    out.set(part.bandDb, known);
    return out;
  }
}

/**
 * The streaming decision logic of one audio stream (one timeline at one rate), shared by the Node
 * Listener and the kiosk page: blocks in, endpointer (C++ VAD, native or wasm) → early recognition
 * of speech followed by a short pause → connected-digit split + classification → digit / rejected
 * events → strings closed by a longer pause. Call `feed` with consecutive blocks (awaiting each),
 * then `finish` once. Options are taken as given (the Listener validates them).
 */
export class StreamDecoder {
  private readonly vad: VadHandle;
  private readonly history: History;
  private readonly vadConfig: Required<Pick<VadOptions, 'hangoverMs' | 'postRollMs' | 'preRollMs' | 'maxSpeechMs'>>;
  private pending: DigitEvent[] = [];
  private lastDigitEnd = 0;
  private sinceLevel = 0;
  private levelPeakDb = -Infinity;
  /** Samples flat at full scale since the last level event, and whether the last sample fed was at full scale. */
  private levelFlat = 0;
  private fullAtEnd = false;
  private fed = 0;
  /** Open segment: where it starts, and how much of it was already recognized early. */
  private openStart = -1;
  private consumedTo = 0;
  /** Up to where (stream position) sure pauses were already tried for an early split. */
  private splitTriedTo = 0;
  /** Loudest hop (band dB) of the open speech not yet recognized, and the quiet run since it (trackQuiet). */
  private openPeakDb = -Infinity;
  private quietSamples = 0;
  private digitCount = 0;
  private rejectedCount = 0;
  private readonly openContour: OpenContour;

  constructor(
    private readonly core: StreamCore,
    private readonly recognizer: SegmentClassifier,
    private readonly opts: DecoderOptions,
    readonly sampleRate: number,
    private readonly sink: DecoderSink,
  ) {
    checkStreamRate(sampleRate);
    const settings = vadSettings(opts, sampleRate);
    this.vadConfig = settings;
    this.vad = core.createVad(settings);
    const seconds = (this.vadConfig.maxSpeechMs + this.vadConfig.preRollMs + this.vadConfig.hangoverMs) / 1000 + 2;
    this.history = new History(Math.ceil(seconds * sampleRate));
    this.openContour = new OpenContour(core, sampleRate);
  }

  /** Samples fed so far. */
  get samplesFed(): number {
    return this.fed;
  }

  /** Whether the endpointer has a segment open (speech heard, not yet closed by the hangover). */
  get inSegment(): boolean {
    return this.openStart >= 0;
  }

  /** Whether digits are waiting for the pause that closes their string (the `string` event). */
  get inString(): boolean {
    return this.pending.length > 0;
  }

  private ms(samples: number): number {
    return (samples / this.sampleRate) * 1000;
  }

  /**
   * The stream's audio between two event times (ms), e.g. a digit event's startMs..endMs. Only the
   * last few seconds are kept: ask right after the event (older audio comes back clipped or empty).
   */
  audioBetween(startMs: number, endMs: number): Float32Array {
    return this.history.slice(Math.round((startMs / 1000) * this.sampleRate), Math.round((endMs / 1000) * this.sampleRate));
  }

  async feed(block: Float32Array): Promise<void> {
    const vad = this.vad;
    const levelStep = Math.max(1, Math.round((this.sampleRate * (this.opts.levelIntervalMs ?? 50)) / 1000));
    // One endpointer hop (10 ms) at a time, so a pause is noticed as soon as it is heard. The hops are
    // the stream's own (the endpointer's, from sample 0), not the block's: the decisions below are
    // taken at the same samples however the audio is cut into blocks, so a file gives the same
    // events from any source (stdin's chunk sizes vary from run to run).
    const hop = Math.max(1, Math.round(this.sampleRate / 100));
    for (let i = 0; i < block.length; ) {
      const part = block.subarray(i, Math.min(block.length, i + hop - (this.fed % hop)));
      i += part.length;
      this.history.append(part);
      this.fed += part.length;
      const clipping = countFlatAtFullScale(part, this.fullAtEnd);
      this.levelFlat += clipping.flat;
      this.fullAtEnd = clipping.fullAtEnd;
      const events = vad.process(part);
      for (const e of events) await this.onVad(e);
      if (this.fed % hop !== 0) continue; // the rest of this hop comes with the next block
      const st = vad.state();
      this.levelPeakDb = Math.max(this.levelPeakDb, st.levelDb);
      this.trackQuiet(st.bandDb, hop);
      // Only speech the endpointer would keep, were the segment to end now (not a tone or a noise burst).
      if (this.openStart >= 0 && st.segmentAccepted) {
        await this.recognizeEarly(Math.max(st.silentSamples, this.quietPause()));
        await this.splitEarly();
      }
      this.sinceLevel += hop;
      if (this.sinceLevel >= levelStep) {
        const clipped = this.levelFlat / this.sinceLevel;
        this.sinceLevel = 0;
        this.sink('level', { timeMs: this.ms(st.samplesSeen), levelDb: this.levelPeakDb, noiseDb: st.noiseDb, speech: st.inSpeech, clipped });
        this.levelPeakDb = -Infinity;
        this.levelFlat = 0;
        this.maybeCloseString(st.samplesSeen, st.inSpeech);
      }
    }
  }

  /** End of the stream: the open segment is recognized and the open string closed. */
  async finish(): Promise<EndEvent> {
    try {
      for (const e of this.vad.flush()) await this.onVad(e);
      const st = this.vad.state();
      this.maybeCloseString(st.samplesSeen, false, true);
      return { durationMs: this.ms(st.samplesSeen), digitCount: this.digitCount, rejectedCount: this.rejectedCount };
    } finally {
      this.dispose();
    }
  }

  /**
   * Frees the endpointer (finish() does, and a listener that failed before finishing must): the
   * decoder is fed no more; audioBetween still answers from its own history. Safe to call twice.
   */
  dispose(): void {
    this.vad.dispose?.();
  }

  private maybeCloseString(now: number, inSpeech: boolean, force = false): void {
    if (!this.pending.length || (inSpeech && !force)) return;
    const pause = this.opts.stringPauseMs ?? 1000;
    if (!force && this.ms(now - this.lastDigitEnd) < pause) return;
    const ds = this.pending;
    this.pending = [];
    this.sink('string', {
      digits: ds.map((d) => String(d.digit)).join(''),
      startMs: ds[0].startMs,
      endMs: ds[ds.length - 1].endMs,
      confidences: ds.map((d) => d.confidence),
    });
  }

  /** Follows the open speech's loudest hop and the run of quiet hops since (SplitOptions.quietPauseDb). */
  private trackQuiet(bandDb: number, samples: number): void {
    if (this.openStart < 0) {
      this.forgetQuiet();
      return;
    }
    const split = this.opts.split || {};
    if (bandDb > this.openPeakDb) this.openPeakDb = bandDb;
    const quiet = bandDb <= this.openPeakDb - (split.quietPauseDb ?? DEFAULT_QUIET_PAUSE_DB);
    this.quietSamples = quiet ? this.quietSamples + samples : 0;
  }

  /** The speech before `position` is recognized: the quiet pause follows what comes after it. */
  private releaseTo(position: number): void {
    this.consumedTo = position;
    this.forgetQuiet();
  }

  private forgetQuiet(): void {
    this.openPeakDb = -Infinity;
    this.quietSamples = 0;
  }

  /** The quiet run, once it is long enough to count as a pause (else 0). */
  private quietPause(): number {
    const split = this.opts.split;
    const needMs = split === false ? 0 : (split?.quietPauseMs ?? DEFAULT_QUIET_PAUSE_MS);
    return needMs > 0 && this.ms(this.quietSamples) >= needMs ? this.quietSamples : 0;
  }

  /**
   * Digits spoken with pauses shorter than the hangover share one open segment, and the first would
   * wait for the whole rest of it. So once the endpointer has heard SplitOptions.earlyPauseMs of
   * silence in an open segment it would keep, the speech so far is recognized at once, as if the
   * hangover had been that short; the segment goes on if speech resumes.
   */
  private async recognizeEarly(silent: number): Promise<void> {
    const pauseMs = this.opts.split === false ? 0 : (this.opts.split?.earlyPauseMs ?? DEFAULT_EARLY_PAUSE_MS);
    const now = this.fed;
    const speechEnd = now - silent;
    if (pauseMs <= 0 || this.ms(silent) < pauseMs || speechEnd <= this.consumedTo) return;
    // Not a word's first part cut at a closure ("eigh-t"): a digit's worth of speech.
    if (!this.holdsDigitSpeech(this.history.view(this.consumedTo, now))) return;
    const audio = this.history.slice(this.consumedTo, now);
    const edge = (this.consumedTo === this.openStart ? this.vadConfig.preRollMs : 0) + this.ms(silent);
    await this.recognize(audio, this.consumedTo, now, edge, speechEnd);
    this.releaseTo(now);
  }

  /**
   * Digits run together share an open segment even when no silence the endpointer would hear lies
   * between them (SplitOptions.earlySplit): at every hop, the open audio is searched for a sure
   * pause, and the speech before the last one is recognized at once when it holds a digit's worth
   * of speech, as recognizeEarly does at a pause the endpointer hears; it is let out only if every
   * piece is surely a digit (surelyDigit), else it stays open with the rest.
   */
  private async splitEarly(): Promise<void> {
    const split = this.opts.split;
    if (split === false || split?.earlySplit === false) return;
    // Searched at every hop: a view, not a copy of the open audio (what is recognized is copied below),
    // and its contour grows by the new hops only.
    const audio = this.history.view(this.consumedTo, this.fed);
    const options: SplitOptions = { ...split, sureAnyLengthDb: (split?.sureAnyLengthDb ?? DEFAULT_SURE_ANY_LENGTH_DB) - EARLY_SPLIT_SHALLOWER_DB, minPieceMs: EARLY_SPLIT_AFTER_MS };
    const pauses = surePauses(contourValleys(this.core, this.openContour.update(this.consumedTo, audio), this.sampleRate, options), options);
    for (let i = pauses.length - 1; i >= 0; i--) {
      const cut = pauses[i].sample;
      // Each pause is tried once: speech that did not pass waits for the next pause or the segment's end.
      if (this.consumedTo + cut <= this.splitTriedTo) return;
      if (!this.holdsDigitSpeech(audio.subarray(0, cut))) continue;
      const before = audio.slice(0, cut);
      this.splitTriedTo = this.consumedTo + cut;
      const edge = (this.consumedTo === this.openStart ? this.vadConfig.preRollMs : 0) + pauses[i].lowMs / 2;
      if (await this.recognize(before, this.consumedTo, this.fed, edge, null, surelyDigit)) this.releaseTo(this.consumedTo + cut);
      return;
    }
  }

  /** Whether `samples` hold at least SplitOptions.minSpeechMs of speech (trimmed as the splitter trims pieces). */
  private holdsDigitSpeech(samples: Float32Array, bandDb?: Float32Array): boolean {
    const split = this.opts.split || {};
    const dropDb = split.trimDropDb || DEFAULT_SPEECH_TRIM.dropDb;
    const extent = bandDb ? this.core.contourSpeechExtent(bandDb, samples.length, this.sampleRate, dropDb, 0, 0) : this.core.speechExtent(samples, this.sampleRate, dropDb, 0);
    return extent !== null && this.ms(extent[1] - extent[0]) >= (split.minSpeechMs ?? DEFAULT_MIN_SPEECH_MS);
  }

  /**
   * Splits and classifies `samples` (stream position `offset`), emitting digit/rejected events.
   * `speechEnd` is where the last piece's speech ended (null: found in its audio, as the others' is).
   * With `accept`, nothing is emitted unless every piece passes it; returns whether pieces were emitted.
   */
  private async recognize(
    samples: Float32Array,
    offset: number,
    decidedAt: number,
    edgeSilenceMs: number,
    speechEnd: number | null,
    accept?: (p: SegmentPrediction) => boolean,
    bandDb?: Float32Array,
  ): Promise<boolean> {
    const t0 = performance.now();
    const pieces =
      this.opts.split === false
        ? [{ start: 0, end: samples.length, prediction: await this.recognizer.predict({ samples, sampleRate: this.sampleRate }) }]
        : await splitSegment(samples, this.sampleRate, this.core, this.recognizer, this.opts.split ?? {}, edgeSilenceMs, bandDb ?? this.openContour.of(offset, samples));
    const computeMs = performance.now() - t0;
    if (accept && !pieces.every((p) => accept(p.prediction))) return false;
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k];
      const start = offset + p.start;
      const end = offset + p.end;
      let ended = speechEnd ?? end;
      if (k < pieces.length - 1 || speechEnd === null) {
        const extent = this.core.speechExtent(samples.subarray(p.start, p.end), this.sampleRate, 40, 0);
        ended = extent ? start + extent[1] : end;
      }
      this.emitPrediction(p.prediction, start, end, decidedAt, this.ms(Math.max(0, decidedAt - Math.max(start, ended))) + computeMs, computeMs);
    }
    return pieces.length > 0;
  }

  private async onVad(e: VadEvent): Promise<void> {
    if (e.type === 'start') {
      this.openStart = e.startSample;
      this.releaseTo(e.startSample);
      this.sink('speechstart', { startMs: this.ms(e.startSample) });
      return;
    }
    const released = this.openStart >= 0 && this.consumedTo > e.startSample;
    const from = released ? this.consumedTo : e.startSample;
    this.openStart = -1;
    if (e.type === 'end') await this.closeSegment(e, from, released);
    // Dropped: nothing of it was heard, not even a piece recognized early (a digit, then a beep within the hangover).
    this.sink('speechend', { startMs: this.ms(e.startSample), endMs: this.ms(e.endSample), reason: e.reason === 'none' ? 'flush' : e.reason, dropped: e.type === 'abort' && !released });
  }

  /** The endpointer's kept segment from `from` (after what was recognized of it early, if `released`): what is left of it recognized. */
  private async closeSegment(e: VadEvent, from: number, released: boolean): Promise<void> {
    const samples = this.history.slice(from, e.endSample);
    if (samples.length === 0) return;
    const bandDb = this.openContour.of(from, samples);
    const postRoll = Math.round((this.vadConfig.postRollMs / 1000) * this.sampleRate);
    if (released) {
      // After a piece recognized early, nothing is left if speech did not resume; and what does
      // resume may be only the release of a stop the piece ended in ("eigh-t"), too short for a digit.
      if (e.endSample - postRoll <= from || !this.holdsDigitSpeech(samples, bandDb)) return;
    }
    const hangover = Math.round((this.vadConfig.hangoverMs / 1000) * this.sampleRate);
    // Where the endpointer decided: the hangover after the last speech (or the cut, or the flush).
    const decidedAt = e.reason === 'silence' ? e.endSample - postRoll + hangover : e.endSample;
    const edge = (released ? 0 : this.vadConfig.preRollMs) + this.vadConfig.postRollMs;
    await this.recognize(samples, from, decidedAt, edge, e.endSample - postRoll, undefined, bandDb);
  }

  private emitPrediction(p: SegmentPrediction, start: number, end: number, decidedAt: number, latencyMs: number, computeMs: number): void {
    const threshold = this.opts.threshold;
    const candidate = p.digit ?? p.candidate ?? null;
    // An explicit threshold overrides the recognizer's own, but never its "not a digit" class or its check that a word was heard.
    const overridable = p.rejectedBy !== 'none-class' && !heardNoWord(p.rejectedBy);
    let accepted = threshold === undefined ? p.isDigit && p.digit !== null : candidate !== null && overridable && p.confidence >= threshold;
    // Inside an open string (a digit less than stringPauseMs ago) speech is far more likely another
    // digit than any other word, so a digit that missed only the threshold needs less.
    if (!accepted && overridable && candidate !== null && this.pending.length > 0 && this.ms(start - this.lastDigitEnd) < (this.opts.stringPauseMs ?? 1000)) {
      const base = threshold ?? this.recognizer.threshold;
      const inString = this.opts.stringThreshold ?? (base === undefined ? undefined : 0.8 * base);
      accepted = inString !== undefined && p.confidence >= inString;
    }
    if (!accepted) {
      this.rejectedCount++;
      this.sink(
        'rejected',
        {
          startMs: this.ms(start),
          endMs: this.ms(end),
          candidate,
          confidence: p.confidence,
          reason: heardNoWord(p.rejectedBy) ? (p.rejectedBy as 'silence' | 'too-short') : p.rejectedBy === 'none-class' || candidate === null ? 'not-a-digit' : 'low-confidence',
        },
        p,
      );
      return;
    }
    this.digitCount++;
    const digit: DigitEvent = {
      digit: candidate!,
      confidence: p.confidence,
      startMs: this.ms(start),
      endMs: this.ms(end),
      // Timer values to 10 µs: performance.now()'s float noise (93.28700000047684) is no information.
      latencyMs: Math.round(latencyMs * 100) / 100,
      computeMs: Math.round(computeMs * 100) / 100,
      decidedAtMs: this.ms(decidedAt),
    };
    this.pending.push(digit);
    this.lastDigitEnd = end;
    this.sink('digit', digit, p);
  }
}
