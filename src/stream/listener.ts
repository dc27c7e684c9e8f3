import { EventEmitter } from 'node:events';
import { AudioInputError, SpokenDigitsError } from '../errors.js';
import { validateSampleRate } from '../audio/index.js';
import { DEFAULT_SPEECH_TRIM } from '../model/metadata.js';
import { loadStreamCore, type StreamCore, type VadEvent, type VadHandle, type VadOptions } from './core.js';
import {
  DEFAULT_EARLY_PAUSE_MS,
  DEFAULT_MIN_SPEECH_MS,
  splitSegment,
  type SegmentClassifier,
  type SegmentPrediction,
  type SplitOptions,
} from './segmenter.js';
import type { AudioSource } from './sources.js';

export interface SpeechStartEvent {
  /** Where the segment starts (pre-roll included), ms from the start of the stream. */
  startMs: number;
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
  /** Wall-clock time spent classifying the segment (all its pieces). */
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
  /** The model's "not a digit" class won, the best digit was below the threshold, or it was too quiet. */
  reason: 'not-a-digit' | 'low-confidence' | 'silence';
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
}

export interface OverflowEvent {
  /** Frames the capture ring dropped since the previous overflow event. */
  droppedFrames: number;
  totalDroppedFrames: number;
}

export interface EndEvent {
  durationMs: number;
  digits: number;
  rejected: number;
}

export interface ListenerEvents {
  speechstart: SpeechStartEvent;
  digit: DigitEvent;
  rejected: RejectedEvent;
  string: StringEvent;
  level: LevelEvent;
  overflow: OverflowEvent;
  end: EndEvent;
  error: Error;
}

/** One item of `for await (const e of listener)`. */
export type ListenerEvent = { [K in Exclude<keyof ListenerEvents, 'error'>]: { type: K } & ListenerEvents[K] }[Exclude<keyof ListenerEvents, 'error'>];

export interface ListenerOptions {
  /** The classifier (a loaded DigitRecognizer). Default: DigitRecognizer.load({ model }). */
  recognizer?: SegmentClassifier;
  /** Model file for the default recognizer. */
  model?: string;
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
  /** Rate of pushed audio (push mode); sources bring their own. */
  sampleRate?: number;
  /** Stop after this much audio (ms); the run then ends normally. Default: until the source ends. */
  maxDurationMs?: number;
  core?: StreamCore;
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
    const cap = this.buf.length;
    start = Math.max(start, this.written - cap, 0);
    end = Math.min(end, this.written);
    const out = new Float32Array(Math.max(0, end - start));
    for (let i = 0; i < out.length; ) {
      const at = (start + i) % cap;
      const n = Math.min(out.length - i, cap - at);
      out.set(this.buf.subarray(at, at + n), i);
      i += n;
    }
    return out;
  }
}

async function loadDefaultRecognizer(model: string | undefined, threshold: number | undefined): Promise<SegmentClassifier> {
  const { DigitRecognizer } = await import('../model/recognizer.js');
  return DigitRecognizer.load({ model, threshold });
}

/**
 * Streaming digit recognition: audio in (any AudioSource, or pushed chunks), typed events out.
 * Endpointer (C++ VAD) → segment → connected-digit split + classification → digit / rejected
 * events → strings closed by a longer pause.
 *
 * ```ts
 * const listener = await Listener.create();
 * listener.on('digit', (e) => console.log(e.digit, e.confidence));
 * await listener.run(await openMicrophone());
 * ```
 */
export class Listener extends EventEmitter {
  private readonly core: StreamCore;
  private readonly recognizer: SegmentClassifier;
  private readonly opts: ListenerOptions;
  private vad: VadHandle | null = null;
  private history: History | null = null;
  private rate = 0;
  private vadConfig: Required<Pick<VadOptions, 'hangoverMs' | 'postRollMs' | 'preRollMs' | 'maxSpeechMs'>> = {
    hangoverMs: 120,
    postRollMs: 60,
    preRollMs: 120,
    maxSpeechMs: 4000,
  };
  private pending: { digit: DigitEvent }[] = [];
  private lastDigitEnd = 0;
  private sinceLevel = 0;
  private levelPeakDb = -Infinity;
  private fed = 0;
  private ended = false;
  /** Open segment: where it starts, and how much of it was already recognized early. */
  private openStart = -1;
  private consumedTo = 0;
  private totalDropped = 0;
  private digits = 0;
  private rejected = 0;
  private source: AudioSource | null = null;
  private stopped = false;
  private running = false;
  private pushQueue: Float32Array[] = [];
  private pushWake: (() => void) | null = null;
  private pushEnded = false;
  private pushRun: Promise<EndEvent> | null = null;
  private readonly sinks = new Set<{ push(e: ListenerEvent): void; end(err?: unknown): void }>();

  private constructor(core: StreamCore, recognizer: SegmentClassifier, options: ListenerOptions) {
    super();
    this.core = core;
    this.recognizer = recognizer;
    this.opts = options;
  }

  static async create(options: ListenerOptions = {}): Promise<Listener> {
    if (options.threshold !== undefined && !(options.threshold >= 0 && options.threshold <= 1)) {
      throw new AudioInputError(`threshold must be in 0..1, got ${options.threshold}`);
    }
    if (options.sensitivity !== undefined && !(options.sensitivity >= 0 && options.sensitivity <= 1)) {
      throw new AudioInputError(`sensitivity must be in 0..1, got ${options.sensitivity}`);
    }
    if (options.maxDurationMs !== undefined && !(options.maxDurationMs > 0)) {
      throw new AudioInputError(`maxDurationMs must be > 0, got ${options.maxDurationMs}`);
    }
    if (options.stringThreshold !== undefined && !(options.stringThreshold >= 0 && options.stringThreshold <= 1)) {
      throw new AudioInputError(`stringThreshold must be in 0..1, got ${options.stringThreshold}`);
    }
    if (options.stringPauseMs !== undefined && !(options.stringPauseMs > 0)) {
      throw new AudioInputError(`stringPauseMs must be > 0, got ${options.stringPauseMs}`);
    }
    const core = options.core ?? (await loadStreamCore());
    const recognizer = options.recognizer ?? (await loadDefaultRecognizer(options.model, options.threshold));
    return new Listener(core, recognizer, options);
  }

  override on<K extends keyof ListenerEvents>(event: K, listener: (e: ListenerEvents[K]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }
  override once<K extends keyof ListenerEvents>(event: K, listener: (e: ListenerEvents[K]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  /** Processes a source until it ends (or `stop()`); resolves with a summary, rejects on source errors. */
  async run(source: AudioSource): Promise<EndEvent> {
    if (this.running) throw new SpokenDigitsError('ERR_LISTENER_BUSY', 'this Listener is already running; create another one');
    this.running = true;
    this.source = source;
    this.begin(source.sampleRate);
    try {
      for await (const block of source) {
        await this.feed(block);
        const dropped = source.droppedFrames();
        if (dropped > this.totalDropped) {
          this.publish('overflow', { droppedFrames: dropped - this.totalDropped, totalDroppedFrames: dropped });
          this.totalDropped = dropped;
        }
        if (this.stopped) break;
      }
      return await this.finish();
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      this.running = false;
      await source.close().catch(() => undefined);
    }
  }

  /**
   * Push mode, for embedders with their own audio: feed chunks (Float32 in [-1, 1] or Int16) at
   * `sampleRate` (first call, or ListenerOptions.sampleRate); call `end()` when done.
   */
  push(samples: Float32Array | Int16Array, sampleRate?: number): void {
    if (this.pushEnded) throw new SpokenDigitsError('ERR_LISTENER_ENDED', 'push() after end(): create a new Listener');
    if (this.running && !this.pushRun) throw new SpokenDigitsError('ERR_LISTENER_BUSY', 'this Listener is running a source; push() is for push mode only');
    const rate = sampleRate ?? this.opts.sampleRate ?? this.rate;
    if (!this.pushRun) {
      if (!rate) throw new AudioInputError('the first push() needs the sample rate (push(samples, 16000) or ListenerOptions.sampleRate)');
      validateSampleRate(rate, 'pushed audio sample rate');
      this.running = true;
      this.begin(rate);
      this.pushRun = this.pumpPushed();
      this.pushRun.catch(() => undefined);
    } else if (sampleRate !== undefined && sampleRate !== this.rate) {
      throw new AudioInputError(`pushed audio changed sample rate from ${this.rate} to ${sampleRate} Hz; one Listener takes one rate`);
    }
    let block: Float32Array;
    if (samples instanceof Int16Array) {
      block = new Float32Array(samples.length);
      for (let i = 0; i < samples.length; i++) block[i] = samples[i] / 32768;
    } else if (samples instanceof Float32Array) {
      block = samples.slice();
    } else {
      throw new AudioInputError('push() takes a Float32Array or an Int16Array');
    }
    this.pushQueue.push(block);
    this.pushWake?.();
  }

  /** Ends push mode: the rest is processed, open segments and strings are closed. */
  async end(): Promise<EndEvent> {
    this.pushEnded = true;
    this.pushWake?.();
    if (!this.pushRun) {
      if (!this.rate) this.begin(this.opts.sampleRate ?? 16000);
      return this.finish();
    }
    return this.pushRun;
  }

  /** Stops a running source (the run() promise then resolves) or push mode. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pushEnded = true;
    this.pushWake?.();
    await this.source?.close().catch(() => undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<ListenerEvent> {
    const queue: ListenerEvent[] = [];
    let wake: (() => void) | null = null;
    // A listener that already finished has nothing more to say: end at once instead of waiting forever.
    let done = this.ended;
    let error: unknown = null;
    const sink = {
      push: (e: ListenerEvent) => {
        queue.push(e);
        wake?.();
      },
      end: (err?: unknown) => {
        done = true;
        error = err ?? null;
        wake?.();
      },
    };
    this.sinks.add(sink);
    return {
      next: async (): Promise<IteratorResult<ListenerEvent>> => {
        while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (queue.length) return { value: queue.shift()!, done: false };
        this.sinks.delete(sink);
        if (error) throw error;
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<ListenerEvent>> => {
        this.sinks.delete(sink);
        done = true;
        return { value: undefined, done: true };
      },
    };
  }

  private publish<K extends Exclude<keyof ListenerEvents, 'error'>>(type: K, payload: ListenerEvents[K]): void {
    this.emit(type, payload);
    for (const s of this.sinks) s.push({ type, ...payload } as ListenerEvent);
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.ended = true;
    if (this.listenerCount('error') > 0) this.emit('error', e);
    for (const s of this.sinks) s.end(e);
    this.sinks.clear();
  }

  private begin(rate: number): void {
    this.rate = rate;
    const v = this.opts.vad ?? {};
    this.vadConfig = {
      hangoverMs: v.hangoverMs ?? 120,
      postRollMs: v.postRollMs ?? 60,
      preRollMs: v.preRollMs ?? 120,
      maxSpeechMs: v.maxSpeechMs ?? 4000,
    };
    this.vad = this.core.createVad({ ...v, ...this.vadConfig, sampleRate: rate, sensitivity: this.opts.sensitivity ?? 0.5 });
    const seconds = (this.vadConfig.maxSpeechMs + this.vadConfig.preRollMs + this.vadConfig.hangoverMs) / 1000 + 2;
    this.history = new History(Math.ceil(seconds * rate));
  }

  private async pumpPushed(): Promise<EndEvent> {
    try {
      for (;;) {
        while (this.pushQueue.length) {
          await this.feed(this.pushQueue.shift()!);
          if (this.stopped) break;
        }
        if (this.pushEnded || this.stopped) break;
        await new Promise<void>((r) => (this.pushWake = r));
        this.pushWake = null;
      }
      return await this.finish();
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      this.running = false;
    }
  }

  private ms(samples: number): number {
    return (samples / this.rate) * 1000;
  }

  private async feed(block: Float32Array): Promise<void> {
    const vad = this.vad!;
    if (this.opts.maxDurationMs !== undefined) {
      const left = Math.round((this.opts.maxDurationMs / 1000) * this.rate) - this.fed;
      if (left <= block.length) {
        this.stopped = true;
        this.pushEnded = true;
        block = block.subarray(0, Math.max(0, left));
      }
    }
    const levelStep = Math.max(1, Math.round((this.rate * (this.opts.levelIntervalMs ?? 50)) / 1000));
    // One endpointer hop (10 ms) at a time, so a pause is noticed as soon as it is heard.
    const hop = Math.max(1, Math.round(this.rate / 100));
    for (let i = 0; i < block.length; i += hop) {
      const part = block.subarray(i, Math.min(block.length, i + hop));
      this.history!.append(part);
      this.fed += part.length;
      const events = vad.process(part);
      for (const e of events) await this.onVad(e);
      const st = vad.state();
      this.levelPeakDb = Math.max(this.levelPeakDb, st.levelDb);
      // Only speech the endpointer would keep, were the segment to end now (not a tone or a noise burst).
      if (this.openStart >= 0 && st.segmentAccepted) await this.recognizeEarly(st.silentSamples);
      this.sinceLevel += part.length;
      if (this.sinceLevel >= levelStep) {
        this.sinceLevel = 0;
        this.publish('level', { timeMs: this.ms(st.samplesSeen), levelDb: this.levelPeakDb, noiseDb: st.noiseDb, speech: st.inSpeech });
        this.levelPeakDb = -Infinity;
        this.maybeCloseString(st.samplesSeen, st.inSpeech);
      }
    }
  }

  private maybeCloseString(now: number, inSpeech: boolean, force = false): void {
    if (!this.pending.length || (inSpeech && !force)) return;
    const pause = this.opts.stringPauseMs ?? 1000;
    if (!force && this.ms(now - this.lastDigitEnd) < pause) return;
    const ds = this.pending.map((p) => p.digit);
    this.pending = [];
    this.publish('string', {
      digits: ds.map((d) => String(d.digit)).join(''),
      startMs: ds[0].startMs,
      endMs: ds[ds.length - 1].endMs,
      confidences: ds.map((d) => d.confidence),
    });
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
    const audio = this.history!.slice(this.consumedTo, now);
    // Not a word's first part cut at a closure ("eigh-t"): a digit's worth of speech.
    if (!this.holdsDigitSpeech(audio)) return;
    const edge = (this.consumedTo === this.openStart ? this.vadConfig.preRollMs : 0) + this.ms(silent);
    await this.recognize(audio, this.consumedTo, now, edge, speechEnd);
    this.consumedTo = now;
  }

  /** Whether `samples` hold at least SplitOptions.minSpeechMs of speech (trimmed as the splitter trims pieces). */
  private holdsDigitSpeech(samples: Float32Array): boolean {
    const split = this.opts.split || {};
    const extent = this.core.speechExtent(samples, this.rate, split.trimDropDb || DEFAULT_SPEECH_TRIM.dropDb, 0);
    return extent !== null && this.ms(extent[1] - extent[0]) >= (split.minSpeechMs ?? DEFAULT_MIN_SPEECH_MS);
  }

  /**
   * Splits and classifies `samples` (stream position `offset`), emitting digit/rejected events.
   * `speechEnd` is where the last piece's speech ended; the others' is found in their own audio.
   */
  private async recognize(samples: Float32Array, offset: number, decidedAt: number, edgeSilenceMs: number, speechEnd: number): Promise<void> {
    const t0 = performance.now();
    const pieces =
      this.opts.split === false
        ? [{ start: 0, end: samples.length, prediction: await this.recognizer.predict({ samples, sampleRate: this.rate }) }]
        : await splitSegment(samples, this.rate, this.core, this.recognizer, this.opts.split ?? {}, edgeSilenceMs);
    const computeMs = performance.now() - t0;
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k];
      const start = offset + p.start;
      const end = offset + p.end;
      let ended = speechEnd;
      if (k < pieces.length - 1) {
        const extent = this.core.speechExtent(samples.subarray(p.start, p.end), this.rate, 40, 0);
        ended = extent ? start + extent[1] : end;
      }
      this.emitPrediction(p.prediction, start, end, decidedAt, this.ms(Math.max(0, decidedAt - Math.max(start, ended))) + computeMs, computeMs);
    }
  }

  private async onVad(e: VadEvent): Promise<void> {
    if (e.type === 'start') {
      this.openStart = e.startSample;
      this.consumedTo = e.startSample;
      this.publish('speechstart', { startMs: this.ms(e.startSample) });
      return;
    }
    const released = this.openStart >= 0 && this.consumedTo > e.startSample;
    const from = released ? this.consumedTo : e.startSample;
    this.openStart = -1;
    if (e.type !== 'end') return;
    const samples = this.history!.slice(from, e.endSample);
    if (samples.length === 0) return;
    const postRoll = Math.round((this.vadConfig.postRollMs / 1000) * this.rate);
    if (released) {
      // After a piece recognized early, nothing is left if speech did not resume; and what does
      // resume may be only the release of a stop the piece ended in ("eigh-t"), too short for a digit.
      if (e.endSample - postRoll <= from || !this.holdsDigitSpeech(samples)) return;
    }
    const hangover = Math.round((this.vadConfig.hangoverMs / 1000) * this.rate);
    // Where the endpointer decided: the hangover after the last speech (or the cut, or the flush).
    const decidedAt = e.reason === 'silence' ? e.endSample - postRoll + hangover : e.endSample;
    const edge = (released ? 0 : this.vadConfig.preRollMs) + this.vadConfig.postRollMs;
    await this.recognize(samples, from, decidedAt, edge, e.endSample - postRoll);
  }

  private emitPrediction(p: SegmentPrediction, start: number, end: number, decidedAt: number, latencyMs: number, computeMs: number): void {
    const threshold = this.opts.threshold;
    const candidate = p.digit ?? p.candidate ?? null;
    // An explicit threshold overrides the recognizer's own, but never its "not a digit" class or silence check.
    let accepted =
      threshold === undefined
        ? p.isDigit && p.digit !== null
        : candidate !== null && p.rejectedBy !== 'none-class' && p.rejectedBy !== 'silence' && p.confidence >= threshold;
    // Inside an open string (a digit less than stringPauseMs ago) speech is far more likely another
    // digit than any other word, so a digit that missed only the threshold needs less.
    if (!accepted && p.rejectedBy !== 'none-class' && p.rejectedBy !== 'silence' && candidate !== null && this.pending.length > 0 && this.ms(start - this.lastDigitEnd) < (this.opts.stringPauseMs ?? 1000)) {
      const base = threshold ?? this.recognizer.threshold;
      const inString = this.opts.stringThreshold ?? (base === undefined ? undefined : 0.8 * base);
      accepted = inString !== undefined && p.confidence >= inString;
    }
    if (!accepted) {
      this.rejected++;
      this.publish('rejected', {
        startMs: this.ms(start),
        endMs: this.ms(end),
        candidate,
        confidence: p.confidence,
        reason: p.rejectedBy === 'silence' ? 'silence' : p.rejectedBy === 'none-class' || candidate === null ? 'not-a-digit' : 'low-confidence',
      });
      return;
    }
    this.digits++;
    const digit: DigitEvent = {
      digit: candidate!,
      confidence: p.confidence,
      startMs: this.ms(start),
      endMs: this.ms(end),
      latencyMs,
      computeMs,
      decidedAtMs: this.ms(decidedAt),
    };
    this.pending.push({ digit });
    this.lastDigitEnd = end;
    this.publish('digit', digit);
  }

  private async finish(): Promise<EndEvent> {
    const vad = this.vad!;
    for (const e of vad.flush()) await this.onVad(e);
    const st = vad.state();
    this.maybeCloseString(st.samplesSeen, false, true);
    const summary: EndEvent = { durationMs: this.ms(st.samplesSeen), digits: this.digits, rejected: this.rejected };
    this.publish('end', summary);
    this.ended = true;
    for (const s of this.sinks) s.end();
    this.sinks.clear();
    return summary;
  }
}
