import { EventEmitter } from 'node:events';
import { AudioInputError, checkOptions, checkOptionTypes, ModelError, OptionsError, SpokenDigitsError, type EveryKey } from '../errors.js';
import { streamChunk, validateSampleRate } from '../audio/index.js';
import { refuseUnusableSamples } from '../audio/pcm.js';
import { loadStreamCore, type StreamCore } from './core.js';
import { checkListenerOptions, checkVadSettings, DECODER_OPTIONS, listeningRate, StreamDecoder, type DecoderEvents, type DecoderOptions, type EndEvent } from './decoder.js';
import { checkStreamRate, decoderInput, type DecoderInput } from './stream-resampler.js';
import { loadFeatureBackend } from '../features/index.js';
import type { SegmentClassifier } from './segmenter.js';
import type { AudioSource } from './sources.js';
import type { ShiftableRecognizer, VoiceAdapter, VoiceAdapterOptions } from '../model/voice-adapt.js';
import { VoiceObserver, type VoiceShiftEvent } from './voice-observer.js';
import { NormObserver, type NormAdaptEvent, type NormAdaptFailedEvent } from './norm-observer.js';
import { normAdapterFor, type NormAdapter, type NormAdapterOptions } from '../model/norm-adapter.js';
import type { DigitRecognizer } from '../model/recognizer.js';
import { EventIterators } from './event-iterator.js';
import { warnOnceOfLowRate } from '../model/rate-warning.js';

export type { DigitEvent, EndEvent, LevelEvent, RejectedEvent, SpeechEndEvent, SpeechStartEvent, StringEvent } from './decoder.js';
export type { VoiceShiftEvent } from './voice-observer.js';
export type { NormAdaptEvent, NormAdaptFailedEvent } from './norm-observer.js';

export interface OverflowEvent {
  /** Frames the capture ring dropped since the previous overflow event. */
  droppedFrames: number;
  totalDroppedFrames: number;
}

export interface ListenerEvents extends DecoderEvents {
  overflow: OverflowEvent;
  voiceshift: VoiceShiftEvent;
  normadapt: NormAdaptEvent;
  normadaptfailed: NormAdaptFailedEvent;
  end: EndEvent;
  error: Error;
}

const LISTENER_KEYS = [...DECODER_OPTIONS, 'recognizer', 'model', 'sampleRate', 'adaptVoice', 'adaptNorm', 'adaptInBackground', 'maxDurationMs', 'core'] as const;
const LISTENER_OPTIONS: EveryKey<ListenerOptions, typeof LISTENER_KEYS> = LISTENER_KEYS;

/** One item of `for await (const e of listener)`. */
export type ListenerEvent = { [K in Exclude<keyof ListenerEvents, 'error'>]: { type: K } & ListenerEvents[K] }[Exclude<keyof ListenerEvents, 'error'>];

export interface ListenerOptions extends DecoderOptions {
  /** The classifier (a loaded DigitRecognizer). Default: DigitRecognizer.load({ model }). */
  recognizer?: SegmentClassifier;
  /** Model file for the default recognizer. */
  model?: string;
  /** Rate of pushed audio (push mode); sources bring their own. */
  sampleRate?: number;
  /**
   * Adapt to the speaker as the session goes (VoiceAdapter): after each digit event (or a digit
   * only the threshold turned down) the piece is heard at every candidate voice shift, and the
   * recognizer moves to the shift it is surest under; `voiceshift` events tell. Needs a
   * DigitRecognizer. It costs one model run over the candidates per digit, made in the next pause
   * (never between speech and its digit event).
   * A VoiceAdapter (over the same recognizer) carries what it learnt from one Listener to the next,
   * e.g. one adapter per known user.
   */
  adaptVoice?: boolean | VoiceAdapterOptions | VoiceAdapter;
  /**
   * Adapt the model's normalization to the speaker as the session goes (NormAdapter): each digit's
   * piece (or a digit only the threshold turned down) is kept, and every `every` of them (default
   * 10) the recognizer's model is adapted on the last `window` (default 50), in the next pause;
   * `normadapt` events tell. An adaptation that fails is a `normadaptfailed` event, and the stream
   * goes on with the model in use (see NormAdaptFailedEvent). Needs a DigitRecognizer and a model
   * with normalization targets (the shipped ones have them). A NormAdapter (over the same
   * recognizer) carries a speaker from one Listener to the next.
   */
  adaptNorm?: boolean | NormAdapterOptions | NormAdapter;
  /**
   * Run each normalization adaptation beside the decoding (the stream goes on with the model it has
   * until the adapted one is ready) instead of holding the decoding up while it runs. Default: for a
   * real-time source given to run() (a microphone, a file played at real time); pushed audio and
   * audio read as fast as it comes wait for it, so the same input gives the same events every time.
   * Either way the adaptation runs in a worker process where one can start (DigitRecognizer's
   * `offThread`), so the event loop is not held up by it; audio pushed meanwhile is queued.
   * 'auto' (a source of unknown pace, such as a pipe: `arecord |` or `ffmpeg -i file |`): beside the
   * decoding while the source keeps to real time; once it has delivered AHEAD_OF_CLOCK_MS more audio
   * than the time since it started, it is a file coming as fast as it can, and the decoding waits
   * for each adaptation from then on (otherwise they all land after the last digit). 'auto' watches
   * a source given to run(); pushed audio is always beside the decoding with it.
   */
  adaptInBackground?: boolean | 'auto';
  /** Stop after this much audio (ms); the run then ends normally. Default: until the source ends. */
  maxDurationMs?: number;
  core?: StreamCore;
}

async function loadDefaultRecognizer(model: string | undefined, threshold: number | undefined): Promise<SegmentClassifier> {
  const { DigitRecognizer } = await import('../model/recognizer.js');
  return DigitRecognizer.load({ model, threshold });
}

/**
 * Streaming digit recognition: audio in (any AudioSource, or pushed chunks), typed events out.
 * Endpointer (C++ VAD) → segment → connected-digit split + classification → digit / rejected
 * events → strings closed by a longer pause; that logic is the StreamDecoder (./decoder.ts), which
 * the kiosk page runs too. This class adds the sources, push mode, EventEmitter and async iterator.
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
  /** The stream's decision logic (shared with the kiosk page); one per run. */
  private decoder: StreamDecoder | null = null;
  /** The stream on its way to the decoder: resampled where the decoder does not take its rate (`decoderInput`). */
  private input: Promise<DecoderInput> | null = null;
  private rate = 0;
  private fed = 0;
  /** What ended the Listener when it failed (push() refuses audio nobody would process). */
  private failure: Error | null = null;
  private totalDropped = 0;
  private source: AudioSource | null = null;
  /** The pacing hint last given to the source (AudioSource.setIdle); sources start idle. */
  private sourceIdle = true;
  private stopped = false;
  /** Why this Listener takes no more audio (its one stream is over), or null while it may. */
  private over: string | null = null;
  private running = false;
  private pushQueue: Float32Array[] = [];
  /** Samples pushed and not processed yet (the queue and the block being decoded). */
  private pushPending = 0;
  private drainWaiters: (() => void)[] = [];
  private pushWake: (() => void) | null = null;
  private pushRun: Promise<EndEvent> | null = null;
  private readonly iterators = new EventIterators<ListenerEvent>(() => void this.stop());
  /** Adapts to the speaker between segments, so it never delays a digit. */
  private readonly voice: VoiceObserver | null;
  private readonly norm: NormObserver | null;

  private constructor(core: StreamCore, recognizer: SegmentClassifier, options: ListenerOptions, adapter: VoiceAdapter | null, normAdapter: NormAdapter | null) {
    // An async handler that rejects fails the Listener as one that throws does (not an unhandled rejection).
    super({ captureRejections: true });
    this.core = core;
    this.recognizer = recognizer;
    this.opts = options;
    this.voice = adapter && new VoiceObserver(adapter, (e) => this.publish('voiceshift', e));
    this.norm = normAdapter && new NormObserver(normAdapter, (e) => this.publish('normadapt', e), (e) => this.publish('normadaptfailed', e), (err) => this.fail(err));
  }

  static async create(options: ListenerOptions = {}): Promise<Listener> {
    checkOptions(options, LISTENER_OPTIONS, 'Listener.create', "Listener.create({ model: 'file.onnx' }) takes a model file as its model option");
    checkListenerOptions(options, 'Listener.create', true);
    checkOptionTypes(options, { sampleRate: 'number', maxDurationMs: 'number' }, 'Listener.create');
    if (options.maxDurationMs !== undefined && !(options.maxDurationMs > 0)) {
      throw new OptionsError(`maxDurationMs must be > 0, got ${options.maxDurationMs}`);
    }
    if (options.sampleRate !== undefined) validateSampleRate(options.sampleRate, 'ListenerOptions.sampleRate');
    if ((options.recognizer as { disposed?: boolean } | undefined)?.disposed) throw new ModelError('Listener.create: the recognizer was disposed; load a new one');
    const core = options.core ?? (await loadStreamCore());
    checkVadSettings(core, options, 'Listener.create');
    const recognizer = options.recognizer ?? (await loadDefaultRecognizer(options.model, options.threshold));
    let adapter: VoiceAdapter | null = null;
    if (options.adaptVoice) {
      if (!('predictShifted' in recognizer && 'voiceShift' in recognizer)) {
        throw new SpokenDigitsError('ERR_ADAPT_VOICE', 'adaptVoice needs a DigitRecognizer (a classifier with voiceShift and predictShifted)');
      }
      const { VoiceAdapter } = await import('../model/voice-adapt.js');
      const shiftable = recognizer as unknown as ShiftableRecognizer;
      const a = options.adaptVoice;
      if (a instanceof VoiceAdapter && !a.adapts(shiftable)) {
        throw new SpokenDigitsError('ERR_ADAPT_VOICE', "adaptVoice: the VoiceAdapter adapts another recognizer than this Listener's");
      }
      adapter = a instanceof VoiceAdapter ? a : new VoiceAdapter(shiftable, a === true ? {} : a);
    }
    let normAdapter: NormAdapter | null = null;
    if (options.adaptNorm) {
      normAdapter = normAdapterFor(recognizer, options.adaptNorm, 'Listener', (recognizer as Partial<DigitRecognizer>).source ?? 'the model');
    }
    const listener = new Listener(core, recognizer, options, adapter, normAdapter);
    try {
      if (options.sampleRate !== undefined) listener.checkRate(options.sampleRate, 'ListenerOptions.sampleRate');
    } catch (err) {
      if (!options.recognizer) await (recognizer as Partial<DigitRecognizer>).dispose?.();
      throw err;
    }
    return listener;
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
    if (!source || typeof source !== 'object' || !(Symbol.asyncIterator in source) || !(source.sampleRate > 0))
      throw new AudioInputError('run() takes an AudioSource (openMicrophone, openFileSource, openReadableSource): an async iterable of blocks with a sampleRate');
    try {
      if (this.running) throw new SpokenDigitsError('ERR_LISTENER_BUSY', 'this Listener is already running; create another one');
      this.refuseWhenOver('run()');
      validateSampleRate(source.sampleRate, "the source's sample rate");
      this.checkRate(source.sampleRate, "the source's sample rate");
    } catch (err) {
      // Refused before it is read: still closed (an open file, a microphone, stdin), unless it is the one being listened to.
      if (source !== this.source) await source.close().catch(() => undefined);
      throw err;
    }
    this.running = true;
    this.source = source;
    this.sourceIdle = true;
    try {
      this.begin(source.sampleRate);
      const pace = this.opts.adaptInBackground === 'auto' && this.norm ? new PaceWatch(source.sampleRate) : null;
      for await (const block of source) {
        if (pace?.aheadOfClock(block.length)) this.norm!.background = false;
        await this.feed(sourceBlock(block));
        // An event handler threw while an adaptation ran beside the decoding.
        if (this.failure) throw this.failure;
        const dropped = source.droppedFrames();
        if (dropped > this.totalDropped) {
          this.publish('overflow', { droppedFrames: dropped - this.totalDropped, totalDroppedFrames: dropped });
          this.totalDropped = dropped;
        }
        if (this.stopped) break;
      }
      return await this.finish();
    } catch (err) {
      if (err !== this.failure) this.fail(err);
      throw err;
    } finally {
      this.running = false;
      this.over ??= 'its run() ended';
      // Finished or failed, the decoder is fed no more: its endpointer is freed.
      this.decoder?.dispose();
      await source.close().catch(() => undefined);
      // Failed: an adaptation running beside the decoding ends before the caller may dispose the recognizer.
      await this.norm?.settle();
    }
  }

  /**
   * Push mode, for embedders with their own audio: feed chunks (Float32 in [-1, 1], louder samples
   * clamped, or Int16) at `sampleRate` (first call, or ListenerOptions.sampleRate); call `end()`
   * when done. A chunk holding NaN, ±Infinity or a float beyond ±MAX_FLOAT_SAMPLE is refused
   * (AudioInputError) and the stream goes on.
   */
  push(samples: Float32Array | Int16Array, sampleRate?: number): void {
    this.refuseWhenOver('push()');
    if (this.running && !this.pushRun) throw new SpokenDigitsError('ERR_LISTENER_BUSY', 'this Listener is running a source; push() is for push mode only');
    if (sampleRate !== undefined) validateSampleRate(sampleRate, 'pushed audio sample rate');
    const block = streamChunk(samples);
    const rate = sampleRate ?? this.opts.sampleRate ?? this.rate;
    if (!this.pushRun) {
      if (!rate) throw new AudioInputError('the first push() needs the sample rate (push(samples, 16000) or ListenerOptions.sampleRate)');
      validateSampleRate(rate, 'pushed audio sample rate');
      this.checkRate(rate, 'pushed audio sample rate');
      this.running = true;
      try {
        this.begin(rate);
      } catch (err) {
        this.running = false;
        this.over = 'it failed to start';
        this.fail(err);
        throw err;
      }
      this.pushRun = this.pumpPushed();
      this.pushRun.catch(() => undefined);
    } else if (sampleRate !== undefined && sampleRate !== this.rate) {
      throw new AudioInputError(`pushed audio changed sample rate from ${this.rate} to ${sampleRate} Hz; one Listener takes one rate`);
    }
    this.pushQueue.push(block);
    this.pushPending += block.length;
    this.pushWake?.();
  }

  /**
   * Samples pushed and not processed yet. Live audio keeps this near zero; an embedder that pushes
   * faster than real time (a file, a network buffer) should wait for `drained()` now and then, or
   * the queue — and memory — grows with everything pushed ahead.
   */
  get pendingSamples(): number {
    return this.pushPending;
  }

  /** pendingSamples as seconds of audio at the pushed rate (the WebListener's measure); 0 before the first push. */
  get pendingSeconds(): number {
    return this.rate ? this.pushPending / this.rate : 0;
  }

  /**
   * Resolves when all audio pushed so far has been processed and its events emitted (a segment
   * still open waits for more audio or `end()`). Resolves at once when nothing is pending, and when
   * the Listener stops or fails (the failure is the `error` event and `end()`'s rejection).
   */
  drained(): Promise<void> {
    // Not running: the pump has ended (stopped or failed), and nothing pushed will be processed.
    if (this.pushPending === 0 || !this.running) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private settleDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Ends push mode: the rest is processed, open segments and strings are closed. */
  async end(): Promise<EndEvent> {
    if (this.source) throw new SpokenDigitsError(this.running ? 'ERR_LISTENER_BUSY' : 'ERR_LISTENER_ENDED', 'end() is for push mode; this Listener ran a source (stop() ends one)');
    if (!this.pushRun) {
      // Nothing was pushed (or stopped before anything was): an empty stream.
      if (this.failure) this.refuseWhenOver('end()');
      this.pushRun = (async () => {
        try {
          this.begin(this.opts.sampleRate ?? 16000);
          return await this.finish();
        } catch (err) {
          if (err !== this.failure) this.fail(err);
          throw err;
        }
      })();
    }
    this.over ??= 'end() was called';
    this.pushWake?.();
    return this.pushRun;
  }

  /**
   * Stops a running source (the run() promise then resolves) or push mode. A normalization
   * adaptation under way is abandoned (NormObserver.close), not waited for: the recognizer keeps the
   * model it had.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.over ??= 'stop() was called';
    this.pushWake?.();
    await Promise.all([this.source?.close().catch(() => undefined), this.norm?.close().catch(() => undefined)]);
  }

  /**
   * Every event from now on (`error` ends the iteration by throwing); a Listener that already finished
   * ends it at once. Leaving the loop early (break, return, a throw) stops the Listener, as with a Node
   * stream, when no other loop over it is still open: of several loops, the last one to leave stops it.
   * Handlers added with `on()` do not keep it running (to leave a loop and go on listening, keep the
   * loop's iterator open, or stop the Listener yourself when done).
   */
  [Symbol.asyncIterator](): AsyncIterator<ListenerEvent> {
    return this.iterators.iterator();
  }

  private publish<K extends Exclude<keyof ListenerEvents, 'error'>>(type: K, payload: ListenerEvents[K]): void {
    this.emit(type, payload);
    this.iterators.publish({ type, ...payload } as ListenerEvent);
  }

  /** Where EventEmitter's captureRejections sends an async handler's rejection. */
  [Symbol.for('nodejs.rejection')](err: unknown): void {
    if (!this.failure) this.fail(err);
  }

  /** A Listener listens to one stream: once it is over (ended, stopped or failed), `what` is refused. */
  private refuseWhenOver(what: string): void {
    if (this.failure) throw new SpokenDigitsError('ERR_LISTENER_ENDED', `${what} after the Listener failed (${this.failure.message}): create a new Listener`);
    if (this.over) throw new SpokenDigitsError('ERR_LISTENER_ENDED', `${what} after ${this.over}: a Listener listens to one stream; create a new Listener`);
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.failure = e;
    if (this.listenerCount('error') > 0) this.emit('error', e);
    this.iterators.end(e);
  }

  /** The model's sample rate, when the classifier says it (a DigitRecognizer does; one of the embedder's own may have an `info` of another shape, or none). */
  private get modelRate(): number | undefined {
    const rate: unknown = (this.recognizer as { info?: { featureConfig?: { sampleRate?: unknown } } }).info?.featureConfig?.sampleRate;
    return typeof rate === 'number' ? rate : undefined;
  }

  /** A rate the DSP core cannot take to the model refused before any audio (a classifier of the embedder's own resamples as it does). */
  private checkRate(rate: number, what: string): void {
    const backend = (this.recognizer as Partial<Pick<DigitRecognizer, 'backend'>>).backend;
    const modelRate = this.modelRate;
    if (modelRate === undefined || !backend) return;
    checkStreamRate(rate, modelRate, (x, from, to) => backend.resample(x, from, to), what);
  }

  private begin(rate: number): void {
    this.rate = rate;
    // Live audio does not wait for an adaptation, which runs beside the decoding; audio pushed or read
    // as fast as it comes waits for it, so the same input gives the same events every time.
    if (this.norm) this.norm.background = this.opts.adaptInBackground === 'auto' || (this.opts.adaptInBackground ?? this.source?.realtime ?? false);
    // A rate the decoder does not take (4-6.8 kHz, 192-384 kHz) is resampled on the way in by the DSP core.
    const decoderRate = listeningRate(rate);
    const modelRate = this.modelRate;
    if (modelRate !== undefined) warnOnceOfLowRate(rate, modelRate);
    this.input =
      decoderRate === rate
        ? Promise.resolve(decoderInput(rate))
        : loadFeatureBackend({ backend: this.core.name }).then((b) => decoderInput(rate, (x, from, to) => b.resample(x, from, to)));
    this.input.catch(() => undefined); // awaited (and reported) by feed or finish
    // The adapter's voice from the start (it may come from an earlier Listener, or the recognizer may have served another user).
    this.voice?.adapter.apply();
    // The prediction that comes with digit/rejected events is for pages; the Listener's events are the payloads alone.
    const decoder = new StreamDecoder(this.core, this.recognizer, this.opts, decoderRate, (type, event) => {
      this.publish(type, event as ListenerEvents[typeof type]);
      this.voice?.take(decoder, type, event);
      this.norm?.take(decoder, type, event);
    });
    this.decoder = decoder;
  }

  private async pumpPushed(): Promise<EndEvent> {
    try {
      for (;;) {
        while (this.pushQueue.length) {
          const block = this.pushQueue.shift()!;
          await this.feed(block);
          if (this.failure) throw this.failure;
          this.pushPending -= block.length;
          if (this.stopped) break;
        }
        if (this.pushQueue.length === 0) this.settleDrain();
        if (this.over) break;
        await new Promise<void>((r) => (this.pushWake = r));
        this.pushWake = null;
      }
      return await this.finish();
    } catch (err) {
      if (err !== this.failure) this.fail(err);
      throw err;
    } finally {
      this.running = false;
      this.decoder?.dispose();
      // Stopped or failed: what is still queued is dropped, not pending.
      this.pushQueue = [];
      this.pushPending = 0;
      await this.norm?.settle();
      this.settleDrain();
    }
  }

  private async feed(block: Float32Array): Promise<void> {
    if (this.opts.maxDurationMs !== undefined) {
      const left = Math.round((this.opts.maxDurationMs / 1000) * this.rate) - this.fed;
      if (left <= block.length) {
        this.stopped = true;
        this.over ??= `maxDurationMs (${this.opts.maxDurationMs} ms of audio) was reached`;
        block = block.subarray(0, Math.max(0, left));
      }
    }
    this.fed += block.length;
    const resampled = (await this.input!).push(block);
    if (resampled.length) await this.decoder!.feed(resampled);
    // Idle: no speech open and no string waiting for its closing pause, so no event is due soon.
    const idle = !this.decoder!.inSegment && !this.decoder!.inString;
    if (idle !== this.sourceIdle) {
      this.sourceIdle = idle;
      this.source?.setIdle?.(idle);
    }
    if (!this.decoder!.inSegment) {
      await this.voice?.flush();
      await this.norm?.flush();
    }
  }

  private async finish(): Promise<EndEvent> {
    const rest = (await this.input!).flush();
    if (rest.length) await this.decoder!.feed(rest);
    const summary = await this.decoder!.finish();
    await this.voice?.flush();
    await this.norm?.flush();
    await this.norm?.settle();
    if (this.failure) throw this.failure;
    this.publish('end', summary);
    this.iterators.end();
    return summary;
  }
}

/** A block an AudioSource yielded, checked: a source of the embedder's own may yield anything. */
function sourceBlock(block: unknown): Float32Array {
  if (!(block instanceof Float32Array)) {
    const kind = block === null ? 'null' : ArrayBuffer.isView(block) ? block.constructor.name : typeof block;
    throw new AudioInputError(`an AudioSource yields Float32Array blocks of mono samples in [-1, 1], got ${kind}`);
  }
  refuseUnusableSamples(block, (problem, i) => `an AudioSource yielded ${problem} at index ${i} of a block`);
  return block;
}

/**
 * How much more audio a live source may have delivered than the time since its first block: what
 * its writer buffered while the listener started (a pipe holds 64 KiB: 4 s of 8 kHz s16 mono) and
 * capture jitter. A file read as fast as it comes passes it within a fraction of a second.
 */
export const AHEAD_OF_CLOCK_MS = 10_000;

/** Whether a source of unknown pace has shown itself faster than real time (ListenerOptions.adaptInBackground 'auto'). */
class PaceWatch {
  private samples = 0;
  private started = -1;
  constructor(private readonly rate: number) {}

  /** Counts a block; whether the audio so far is AHEAD_OF_CLOCK_MS ahead of the clock (the caller keeps the first yes). */
  aheadOfClock(length: number): boolean {
    const now = performance.now();
    if (this.started < 0) this.started = now;
    this.samples += length;
    return (this.samples / this.rate) * 1000 - (now - this.started) > AHEAD_OF_CLOCK_MS;
  }
}
