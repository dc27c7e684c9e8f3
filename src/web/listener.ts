import { CaptureError, checkOptions, checkOptionTypes, ModelError, OptionsError, SpokenDigitsError, type EveryKey } from '../errors.js';
import { streamChunk, validateSampleRate } from '../audio/pcm.js';
import { checkListenerOptions, checkVadSettings, DECODER_OPTIONS, StreamDecoder, type DecoderEvents, type DecoderOptions, type EndEvent } from '../stream/decoder.js';
import type { StreamCore } from '../stream/core.js';
import { batchClassifier, type SegmentClassifier } from '../stream/segmenter.js';
import { VoiceObserver, type VoiceShiftEvent } from '../stream/voice-observer.js';
import { NormObserver, type NormAdaptEvent, type NormAdaptFailedEvent } from '../stream/norm-observer.js';
import { normAdapterFor, type NormAdapter, type NormAdapterOptions } from '../model/norm-adapter.js';
import { EventIterators } from '../stream/event-iterator.js';
import { checkStreamRate, decoderInput, type DecoderInput } from '../stream/stream-resampler.js';
import { VoiceAdapter, type VoiceAdapterOptions } from '../model/voice-adapt.js';
import { Microphone, type MicrophoneOptions, type MicState } from './microphone.js';
import { streamCore, WebRecognizer, type ClipInput } from './recognizer.js';

export interface OverflowEvent {
  /** Frames of live audio dropped since the previous overflow event (at the rate they came at). */
  droppedFrames: number;
  totalDroppedFrames: number;
}

export interface MicrophoneEvent {
  state: MicState;
  detail?: string;
}

export interface WebListenerEvents extends DecoderEvents {
  overflow: OverflowEvent;
  voiceshift: VoiceShiftEvent;
  normadapt: NormAdaptEvent;
  /** A normalization adaptation failed; the stream goes on with the model in use (NormAdaptFailedEvent). */
  normadaptfailed: NormAdaptFailedEvent;
  microphone: MicrophoneEvent;
  /** A timeline ended: `end()`, the microphone stopped or was lost, or the rate of pushed audio changed. */
  end: EndEvent;
  /** The WebListener failed and stopped for good (as the Node Listener does). */
  error: Error;
}

export interface WebListenerOptions extends DecoderOptions {
  /** The model: a loaded WebRecognizer, a URL to fetch, or the model file's bytes. */
  model: WebRecognizer | string | URL | Uint8Array | ArrayBuffer;
  /**
   * Adapt to the speaker as the session goes (VoiceAdapter, as `digits listen --adapt-voice`):
   * `voiceshift` events tell when the recognizer moves to another voice shift. A VoiceAdapter over
   * the same WebRecognizer carries what it learnt from one WebListener to the next.
   */
  adaptVoice?: boolean | VoiceAdapterOptions | VoiceAdapter;
  /**
   * Adapt the model's normalization to the speaker as the session goes (NormAdapter, as
   * `digits listen --adapt-norm`): every `every` digits (default 10) on the last `window` (50), in
   * the next pause; `normadapt` events tell, and `normadaptfailed` events an adaptation that failed
   * (the stream goes on with the model in use). Needs a model with normalization targets (the shipped
   * ones have them). A NormAdapter over the same WebRecognizer carries a speaker from one WebListener to the next.
   */
  adaptNorm?: boolean | NormAdapterOptions | NormAdapter<ClipInput>;
  /**
   * Run each normalization adaptation beside the decoding: the stream goes on with the model it has
   * until the adapted one is ready. Default: for live audio (the microphone, `push(..., { live: true
   * })`); audio pushed as a file waits for it, so the same input gives the same events every time.
   * Either way the adaptation runs in a Web Worker where one can start (WebRecognizer's
   * `offThread`), so the page stays responsive.
   */
  adaptInBackground?: boolean;
  /**
   * Live audio (the microphone, or `push(..., { live: true })`) queued more than this far behind
   * the decoder (a slow device, a busy tab) is dropped and reported by `overflow`. Default 10 s.
   */
  maxBacklogSeconds?: number;
}

const WEB_LISTENER_KEYS = [...DECODER_OPTIONS, 'model', 'adaptVoice', 'adaptNorm', 'adaptInBackground', 'maxBacklogSeconds'] as const;
const WEB_LISTENER_OPTIONS: EveryKey<WebListenerOptions, typeof WEB_LISTENER_KEYS> = WEB_LISTENER_KEYS;

/** WebListener.startMicrophone's options: the microphone's, which device, and whether to reopen it when it comes back. */
export type StartMicrophoneOptions = MicrophoneOptions & { deviceId?: string; autoRecover?: boolean };
const START_MICROPHONE_KEYS = ['workletUrl', 'deviceId', 'autoRecover'] as const;
const START_MICROPHONE_OPTIONS: EveryKey<StartMicrophoneOptions, typeof START_MICROPHONE_KEYS> = START_MICROPHONE_KEYS;

export interface PushOptions {
  /**
   * Live audio: dropped (and reported by `overflow`) when decoding is more than `maxBacklogSeconds`
   * behind, instead of queued without bound. Audio that is not live (a file) is never dropped:
   * wait for `drained()` now and then when pushing much faster than real time.
   */
  live?: boolean;
}
const PUSH_KEYS = ['live'] as const;
const PUSH_OPTIONS: EveryKey<PushOptions, typeof PUSH_KEYS> = PUSH_KEYS;

type Handler<K extends keyof WebListenerEvents> = (event: WebListenerEvents[K]) => void;

/** One item of `for await (const e of listener)`: every event but `error`, with its type. */
export type WebListenerEvent = { [K in Exclude<keyof WebListenerEvents, 'error'>]: { type: K } & WebListenerEvents[K] }[Exclude<keyof WebListenerEvents, 'error'>];

/**
 * Streaming digit recognition in the browser: the Node Listener's decoder (the same endpointer,
 * connected-digit split, rejection and strings; `src/stream/decoder.ts`) over the wasm DSP core and
 * onnxruntime-web. Audio comes from `startMicrophone()` or from `push()` (an embedder's own audio:
 * WebRTC, a decoded file, another worklet). Blocks are decoded in order, off the audio thread.
 *
 * Unlike the Node Listener, one WebListener serves timeline after timeline: `end()`, a microphone
 * stopped or lost, or a new sample rate ends the current one (its speech is recognized, its string
 * closed, `end` is emitted) and the next audio starts another. A failure ends it for good.
 *
 * ```ts
 * import { WebListener } from 'spoken-digits/web';
 * const listener = await WebListener.create({ model: '/models/default.int8.onnx' });
 * listener.on('digit', (e) => console.log(e.digit, e.confidence));
 * listener.on('string', (e) => console.log('number:', e.digits));
 * await listener.startMicrophone();
 * ```
 */
export class WebListener {
  private readonly handlers = new Map<keyof WebListenerEvents, Set<(event: never) => void>>();
  private decoder: StreamDecoder | undefined;
  /** The current timeline's audio on its way to the decoder (resampled where the decoder does not take its rate), and that rate. */
  private input: DecoderInput | undefined;
  private inputRate = 0;
  /** The last rate checkStreamRate passed: a push at another rate is checked before it is queued. */
  private checkedRate = 0;
  private work: Promise<void> = Promise.resolve();
  /** Audio queued and not decoded yet, in whole microseconds (sums without rounding drift). */
  private backlogUs = 0;
  /** Live frames dropped and not reported yet, and in all. */
  private droppedFrames = 0;
  private totalDroppedFrames = 0;
  private mic: Microphone | undefined;
  /** Microphone starts and stops, one after the other. */
  private micOps: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly voice: VoiceObserver | null;
  private readonly norm: NormObserver | null;
  private readonly classifier: SegmentClassifier;
  private readonly iterators = new EventIterators<WebListenerEvent>(() => void this.close());

  private constructor(
    readonly recognizer: WebRecognizer,
    private readonly ownsRecognizer: boolean,
    private readonly core: StreamCore,
    private readonly opts: WebListenerOptions,
    adapter: VoiceAdapter | null,
    normAdapter: NormAdapter<ClipInput> | null,
  ) {
    const threshold = opts.threshold ?? recognizer.info.rejection.threshold;
    this.classifier = batchClassifier((pieces) => recognizer.recognizePieces(pieces, threshold), () => threshold, () => recognizer.info.speechTrim ?? null);
    this.voice = adapter && new VoiceObserver(adapter, (e) => this.emit('voiceshift', e));
    this.norm = normAdapter && new NormObserver(normAdapter, (e) => this.emit('normadapt', e), (e) => this.emit('normadaptfailed', e), (err) => this.fail(err));
    // The adapter's voice from the start (it may come from an earlier WebListener, or the recognizer may have served another user).
    adapter?.apply();
  }

  /** Loads the wasm stream core and the model (unless a WebRecognizer is given). */
  static async create(options: WebListenerOptions): Promise<WebListener> {
    checkOptions(options, WEB_LISTENER_OPTIONS, 'WebListener.create', "WebListener.create({ model: '/models/default.int8.onnx' }) takes the model's URL as its model option");
    if (!options?.model) throw new ModelError('WebListener needs a model: a WebRecognizer, a URL or the model bytes');
    checkListenerOptions(options, 'WebListener.create');
    checkOptionTypes(options, { maxBacklogSeconds: 'number' }, 'WebListener.create');
    // Infinity would queue live audio without bound while decoding falls behind.
    if (options.maxBacklogSeconds !== undefined && !(options.maxBacklogSeconds > 0 && Number.isFinite(options.maxBacklogSeconds))) {
      throw new OptionsError(`maxBacklogSeconds must be a finite number > 0, got ${options.maxBacklogSeconds}`);
    }
    const core = await streamCore();
    checkVadSettings(core, options, 'WebListener.create');
    const given = options.model instanceof WebRecognizer;
    if (given && (options.model as WebRecognizer).disposed) throw new ModelError('WebListener.create: the WebRecognizer was disposed; load a new one');
    const recognizer = given ? (options.model as WebRecognizer) : await WebRecognizer.load(options.model as string);
    const a = options.adaptVoice;
    if (a instanceof VoiceAdapter && !a.adapts(recognizer)) {
      if (!given) await recognizer.dispose();
      throw new SpokenDigitsError('ERR_ADAPT_VOICE', "adaptVoice: the VoiceAdapter adapts another recognizer than this WebListener's");
    }
    const adapter = !a ? null : a instanceof VoiceAdapter ? a : new VoiceAdapter(recognizer, a === true ? {} : a);
    const n = options.adaptNorm;
    let normAdapter: NormAdapter<ClipInput> | null = null;
    if (n) {
      try {
        normAdapter = normAdapterFor<ClipInput>(recognizer, n, 'WebListener', recognizer.url);
      } catch (err) {
        if (!given) await recognizer.dispose();
        throw err;
      }
    }
    return new WebListener(recognizer, !given, core, options, adapter, normAdapter);
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof WebListenerEvents>(type: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler as (event: never) => void);
    return () => this.off(type, handler);
  }

  off<K extends keyof WebListenerEvents>(type: K, handler: Handler<K>): void {
    this.handlers.get(type)?.delete(handler as (event: never) => void);
  }

  /**
   * Every event from now on, as `{ type, ...payload }` (`for await (const e of listener)`); the
   * iteration ends at close() and throws the failure if the WebListener fails. Leaving the loop early
   * (break, return, a throw) closes the WebListener, as with a Node stream, when no other loop over it
   * is still open: of several loops, the last one to leave closes it. Handlers added with `on()` do
   * not keep it open.
   */
  [Symbol.asyncIterator](): AsyncIterator<WebListenerEvent> {
    return this.iterators.iterator();
  }

  private emit<K extends keyof WebListenerEvents>(type: K, event: WebListenerEvents[K]): void {
    if (type !== 'error') this.iterators.publish({ type, ...event } as WebListenerEvent);
    const set = this.handlers.get(type);
    if (type === 'error' && !set?.size) {
      // Nobody listens for errors: say so on the console rather than fail silently.
      console.error('spoken-digits WebListener:', event);
      return;
    }
    // One subscriber's bug (a throw, or an async handler's rejection) must not stop the stream or the others.
    const report = (err: unknown) => {
      if (type === 'error') console.error('spoken-digits WebListener: an error handler threw', err);
      else this.emit('error', err instanceof Error ? err : new Error(String(err)));
    };
    for (const h of set ?? []) {
      try {
        const result: unknown = (h as Handler<K>)(event);
        if (result instanceof Promise) result.catch(report);
      } catch (err) {
        report(err);
      }
    }
  }

  private checkOpen(what: string): void {
    if (this.failure) throw new SpokenDigitsError('ERR_LISTENER_ENDED', `${what} after the WebListener failed (${this.failure.message}): create a new one`);
    if (this.closing) throw new SpokenDigitsError('ERR_CLOSED', `${what} after close(): this WebListener is closed`);
  }

  /**
   * Audio in: mono samples (Float32 in [-1, 1], or Int16) at any rate from 4 to 384 kHz (the DSP
   * core resamples). Blocks are queued and decoded in order; a rate other than the previous block's
   * starts a new timeline.
   */
  push(samples: Float32Array | Int16Array, sampleRate: number, options: PushOptions = {}): void {
    this.checkOpen('push()');
    // `live: 'false'` is truthy: the audio would be dropped as a live backlog.
    checkOptions(options, PUSH_OPTIONS, 'push()');
    checkOptionTypes(options, { live: 'boolean' }, 'push()');
    validateSampleRate(sampleRate, 'pushed audio sample rate');
    if (sampleRate !== this.checkedRate) {
      checkStreamRate(sampleRate, this.recognizer.info.featureConfig.sampleRate, (x, from, to) => this.recognizer.backend.resample(x, from, to), 'pushed audio sample rate');
      this.checkedRate = sampleRate;
    }
    const block = streamChunk(samples);
    if (block.length === 0) return;
    const us = Math.round((samples.length / sampleRate) * 1e6);
    if (options.live && this.backlogUs + us > (this.opts.maxBacklogSeconds ?? 10) * 1e6) {
      this.droppedFrames += samples.length;
      this.totalDroppedFrames += samples.length;
      return;
    }
    this.backlogUs += us;
    const dropped = this.takeDropped();
    this.enqueue(async () => {
      this.backlogUs -= us;
      // Audio was dropped: what comes next is a new timeline.
      if (dropped) await this.reportDropped(dropped);
      if (this.decoder && this.inputRate !== sampleRate) await this.finishTimeline();
      if (!this.decoder || !this.input) {
        this.input = decoderInput(sampleRate, (x, from, to) => this.recognizer.backend.resample(x, from, to));
        this.inputRate = sampleRate;
        this.decoder = this.newDecoder(this.input.toRate);
      }
      const decoder = this.decoder;
      const audio = this.input.push(block);
      if (audio.length) await decoder.feed(audio);
      if (this.norm) this.norm.background = this.opts.adaptInBackground ?? options.live ?? false;
      if (!decoder.inSegment) {
        await this.voice?.flush();
        await this.norm?.flush();
      }
    });
  }

  /** Seconds of pushed audio not decoded yet. */
  get pendingSeconds(): number {
    return this.backlogUs / 1e6;
  }

  /** Dropped frames not reported yet, now counted as reported. */
  private takeDropped(): OverflowEvent | null {
    if (this.droppedFrames === 0) return null;
    const e = { droppedFrames: this.droppedFrames, totalDroppedFrames: this.totalDroppedFrames };
    this.droppedFrames = 0;
    return e;
  }

  private async reportDropped(e: OverflowEvent): Promise<void> {
    this.emit('overflow', e);
    await this.finishTimeline();
  }

  private newDecoder(rate: number): StreamDecoder {
    const decoder: StreamDecoder = new StreamDecoder(this.core, this.classifier, this.opts, rate, (type, event) => {
      this.emit(type, event as WebListenerEvents[typeof type]);
      this.voice?.take(decoder, type, event);
      this.norm?.take(decoder, type, event);
    });
    return decoder;
  }

  /** Runs `job` after everything queued before it; a failure ends the WebListener for good. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.work.then(() => {
      if (!this.failure) return job();
    });
    this.work = run.catch((err) => this.fail(err));
    return run;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    // The decoder's state is unknown: nothing more is decoded (its endpointer is freed; a feed it was
    // in the middle of fails on it, after this failure), and what was queued is dropped.
    this.decoder?.dispose();
    this.decoder = undefined;
    this.input = undefined;
    this.voice?.clear();
    this.norm?.clear();
    this.backlogUs = 0;
    void this.stopMicrophone().catch(() => undefined);
    this.emit('error', this.failure);
    this.iterators.end(this.failure);
  }

  private async finishTimeline(): Promise<EndEvent | undefined> {
    const d = this.decoder;
    const rest = this.input?.flush();
    this.decoder = undefined;
    this.input = undefined;
    if (!d) return undefined;
    let summary: EndEvent;
    try {
      if (rest?.length) await d.feed(rest);
      summary = await d.finish();
    } finally {
      d.dispose();
    }
    await this.voice?.flush();
    await this.norm?.flush();
    this.emit('end', summary);
    return summary;
  }

  /**
   * Resolves when everything pushed so far has been decoded and its events emitted (at once after a
   * failure, which is the `error` event).
   */
  drained(): Promise<void> {
    return this.work;
  }

  /**
   * Ends the current timeline, as the end of a file: the speech heard so far is recognized and the
   * open string closed. Audio pushed later starts a new one. Resolves with its summary (undefined
   * when nothing was pushed since the last end); rejects with the failure if the WebListener failed.
   */
  async end(): Promise<EndEvent | undefined> {
    if (this.failure) throw this.failure;
    let summary: EndEvent | undefined;
    const dropped = this.takeDropped();
    await this.enqueue(async () => {
      if (dropped) await this.reportDropped(dropped);
      summary = await this.finishTimeline();
    });
    return summary;
  }

  /**
   * Opens the microphone (getUserMedia + an AudioWorklet) and feeds it in as live audio. `microphone`
   * events report its state; a lost device ends the timeline, and with `autoRecover` the device is
   * reopened when it comes back. Resolves with the Microphone once it delivers audio (or will after
   * a user gesture: state 'suspended', call `microphone.resume()` from a click). Without
   * `autoRecover`, a microphone that cannot start (denied, absent, no worklet) is a CaptureError.
   * Starting again replaces the running microphone.
   */
  startMicrophone(options: StartMicrophoneOptions = {}): Promise<Microphone> {
    // Refusals reject the promise (a caller's .catch sees them), never throw before it.
    try {
      this.checkOpen('startMicrophone()');
      checkOptions(options, START_MICROPHONE_OPTIONS, 'startMicrophone()');
      checkOptionTypes(options, { deviceId: 'string', autoRecover: 'boolean' }, 'startMicrophone()');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.micOp(async () => {
      this.checkOpen('startMicrophone()');
      await this.closeMicrophone();
      const mic = new Microphone(options);
      mic.autoRecover = options.autoRecover ?? false;
      mic.onBlock = (block) => {
        if (this.mic !== mic || this.failure || this.closing) return;
        // A block refused (an AudioContext at a rate the core cannot take) ends the listener with an error event, as a failure while decoding does.
        try {
          this.push(block, mic.sampleRate, { live: true });
        } catch (err) {
          this.fail(err);
        }
      };
      mic.onState = (state, detail) => {
        this.emit('microphone', { state, detail });
        // A new stream is a new timeline: the old one ends where its audio ended.
        if ((state === 'lost' || state === 'starting') && !this.failure) void this.end().catch(() => undefined);
      };
      this.mic = mic;
      try {
        await mic.start(options.deviceId);
      } catch (err) {
        await this.closeMicrophone();
        throw err;
      }
      if (mic.state !== 'on' && mic.state !== 'suspended' && !mic.autoRecover) {
        const state = mic.state;
        await this.closeMicrophone();
        throw new CaptureError(`the microphone did not start (${state})`);
      }
      // The model's set-up at the microphone's rate is paid before the first digit, not by it.
      await this.enqueue(() => this.recognizer.prepareFor(mic.sampleRate));
      return mic;
    });
  }

  /** Stops the microphone and ends its timeline. */
  async stopMicrophone(): Promise<EndEvent | undefined> {
    await this.micOp(() => this.closeMicrophone());
    return this.failure ? undefined : this.end();
  }

  /** Runs a microphone start or stop after the ones asked for before it. */
  private micOp<T>(job: () => Promise<T>): Promise<T> {
    const op = this.micOps.then(job);
    this.micOps = op.catch(() => undefined);
    return op;
  }

  private async closeMicrophone(): Promise<void> {
    const mic = this.mic;
    if (!mic) return;
    this.mic = undefined;
    await mic.close();
  }

  /**
   * Stops the microphone, decodes what was queued, ends the timeline and releases the model (if the
   * WebListener loaded it). A normalization adaptation under way is abandoned, not waited for. Safe to call more than once; push() and startMicrophone() throw after it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.stopMicrophone();
      // An adaptation under way is abandoned, not waited for (its Web Worker terminated), and none starts while the queue drains.
      const abandoned = this.norm?.close().catch(() => undefined);
      await this.work;
      await abandoned;
      await this.norm?.settle();
      this.handlers.clear();
      this.iterators.end();
      if (this.ownsRecognizer) await this.recognizer.dispose();
    })();
    return this.closing;
  }
}
