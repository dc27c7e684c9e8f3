import { AudioInputError, ModelError, SpokenDigitsError } from '../errors.js';
import { StreamDecoder, type DecoderEvents, type DecoderOptions, type EndEvent } from '../stream/decoder.js';
import type { SegmentClassifier } from '../stream/segmenter.js';
import { VoiceObserver, type VoiceShiftEvent } from '../stream/voice-observer.js';
import { VoiceAdapter, type VoiceAdapterOptions } from '../model/voice-adapt.js';
import { Microphone, type MicrophoneOptions, type MicState } from './microphone.js';
import { streamCore, WebRecognizer, type PieceRecognition } from './recognizer.js';

export interface OverflowEvent {
  /** Audio dropped because decoding fell more than `maxBacklogSeconds` behind, since the last overflow event. */
  droppedMs: number;
  totalDroppedMs: number;
}

export interface MicrophoneEvent {
  state: MicState;
  detail?: string;
}

export interface WebListenerEvents extends DecoderEvents {
  overflow: OverflowEvent;
  voiceshift: VoiceShiftEvent;
  microphone: MicrophoneEvent;
  /** A timeline ended: `end()`, the microphone stopped or was lost, or the rate of pushed audio changed. */
  end: EndEvent;
  error: Error;
}

export interface WebListenerOptions extends DecoderOptions {
  /** The model: a loaded WebRecognizer, a URL to fetch, or the model file's bytes. */
  model: WebRecognizer | string | URL | Uint8Array | ArrayBuffer;
  /**
   * Adapt to the speaker as the session goes (VoiceAdapter, as `digits listen --adapt-voice`):
   * `voiceshift` events tell when the recognizer moves to another voice shift.
   */
  adaptVoice?: boolean | VoiceAdapterOptions;
  /** Audio queued beyond this (decoding far behind: a slow device, the model still loading) is dropped. Default 10 s. */
  maxBacklogSeconds?: number;
}

type Handler<K extends keyof WebListenerEvents> = (event: WebListenerEvents[K]) => void;

/**
 * Streaming digit recognition in the browser: the Node Listener's decoder (the same endpointer,
 * connected-digit split, rejection and strings; `src/stream/decoder.ts`) over the wasm DSP core and
 * onnxruntime-web. Audio comes from `startMicrophone()` or from `push()` (an embedder's own audio:
 * WebRTC, a decoded file, another worklet). Blocks are decoded in order, off the audio thread.
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
  private work: Promise<void> = Promise.resolve();
  /** Samples queued and not decoded yet, in seconds of audio. */
  private backlogSeconds = 0;
  private dropping = false;
  private droppedMs = 0;
  private totalDroppedMs = 0;
  private mic: Microphone | undefined;
  private closed = false;
  private readonly voice: VoiceObserver | null;
  private readonly classifier: SegmentClassifier;

  private constructor(
    readonly recognizer: WebRecognizer,
    private readonly ownsRecognizer: boolean,
    private readonly opts: WebListenerOptions,
  ) {
    const threshold = opts.threshold ?? recognizer.info.rejection.threshold;
    const classify = (pieces: { samples: Float32Array; sampleRate: number }[]): Promise<PieceRecognition[]> => recognizer.recognizePieces(pieces, threshold);
    this.classifier = {
      threshold,
      predict: async (input) => (await classify([input]))[0],
      predictBatch: classify,
    };
    const adapt = opts.adaptVoice;
    this.voice = adapt ? new VoiceObserver(new VoiceAdapter(recognizer, adapt === true ? {} : adapt), (e) => this.emit('voiceshift', e)) : null;
  }

  /** Loads the model (unless a WebRecognizer is given) and the wasm stream core. */
  static async create(options: WebListenerOptions): Promise<WebListener> {
    for (const name of ['threshold', 'sensitivity', 'stringThreshold'] as const) {
      const v = options[name];
      if (v !== undefined && !(v >= 0 && v <= 1)) throw new AudioInputError(`${name} must be in 0..1, got ${v}`);
    }
    if (options.maxBacklogSeconds !== undefined && !(options.maxBacklogSeconds > 0)) {
      throw new AudioInputError(`maxBacklogSeconds must be > 0, got ${options.maxBacklogSeconds}`);
    }
    if (!options.model) throw new ModelError('WebListener needs a model: a WebRecognizer, a URL or the model bytes');
    const given = options.model instanceof WebRecognizer;
    const [recognizer] = await Promise.all([given ? (options.model as WebRecognizer) : WebRecognizer.load(options.model as string), streamCore()]);
    return new WebListener(recognizer, !given, options);
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

  private emit<K extends keyof WebListenerEvents>(type: K, event: WebListenerEvents[K]): void {
    const set = this.handlers.get(type);
    if (type === 'error' && !set?.size) {
      // Nobody listens for errors: say so on the console rather than fail silently.
      console.error('spoken-digits WebListener:', event);
      return;
    }
    for (const h of set ?? []) {
      try {
        (h as Handler<K>)(event);
      } catch (err) {
        // One subscriber's bug must not stop the stream or the others.
        if (type !== 'error') this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /**
   * Audio in: mono float samples at any rate (the DSP core resamples). Blocks are queued and decoded
   * in order; a different rate from the previous block's starts a new timeline (the old one ends).
   */
  push(samples: Float32Array, sampleRate: number): void {
    if (this.closed) throw new SpokenDigitsError('ERR_CLOSED', 'this WebListener is closed');
    if (!(samples instanceof Float32Array)) throw new AudioInputError('push() takes a Float32Array of mono samples');
    if (!(Number.isFinite(sampleRate) && sampleRate >= 4000 && sampleRate <= 384000)) throw new AudioInputError(`unsupported sample rate ${sampleRate} (4000-384000 Hz)`);
    if (samples.length === 0) return;
    const seconds = samples.length / sampleRate;
    if (this.backlogSeconds + seconds > (this.opts.maxBacklogSeconds ?? 10)) {
      this.dropping = true;
      this.droppedMs += seconds * 1000;
      this.totalDroppedMs += seconds * 1000;
      return;
    }
    const block = samples.slice();
    const gap = this.dropping;
    this.dropping = false;
    this.backlogSeconds += seconds;
    this.enqueue(async () => {
      this.backlogSeconds -= seconds;
      if (gap) {
        // Audio was dropped: what comes next is a new timeline.
        this.emit('overflow', { droppedMs: this.droppedMs, totalDroppedMs: this.totalDroppedMs });
        this.droppedMs = 0;
        await this.finishTimeline();
      }
      if (this.decoder && this.decoder.sampleRate !== sampleRate) await this.finishTimeline();
      const decoder = (this.decoder ??= this.newDecoder(sampleRate, await streamCore()));
      await decoder.feed(block);
      if (!decoder.inSegment) await this.voice?.flush();
    });
  }

  private newDecoder(rate: number, core: Awaited<ReturnType<typeof streamCore>>): StreamDecoder {
    const decoder: StreamDecoder = new StreamDecoder(core, this.classifier, this.opts, rate, (type, event) => {
      this.emit(type, event as WebListenerEvents[typeof type]);
      this.voice?.take(decoder, type, event);
    });
    return decoder;
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.work.then(job);
    this.work = run.catch((err) => {
      // The decoder's state is unknown after a failure: the next block starts a new timeline.
      this.decoder = undefined;
      this.voice?.clear();
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    });
    return this.work;
  }

  private async finishTimeline(): Promise<EndEvent | undefined> {
    const d = this.decoder;
    this.decoder = undefined;
    if (!d) return undefined;
    const summary = await d.finish();
    await this.voice?.flush();
    this.emit('end', summary);
    return summary;
  }

  /** Resolves when everything pushed so far has been decoded and its events emitted. */
  drained(): Promise<void> {
    return this.work;
  }

  /**
   * Ends the current timeline, as the end of a file: the speech heard so far is recognized and the
   * open string closed. Audio pushed later starts a new one. Undefined when nothing was pushed.
   */
  async end(): Promise<EndEvent | undefined> {
    let summary: EndEvent | undefined;
    await this.enqueue(async () => {
      summary = await this.finishTimeline();
    });
    return summary;
  }

  /**
   * Opens the microphone (getUserMedia + an AudioWorklet) and feeds it in. `microphone` events
   * report its state (denied, lost, ...); a lost device ends the timeline, and with `autoRecover`
   * it is reopened when it comes back. Resolves with the Microphone once it delivers audio (or will
   * after a user gesture: state 'suspended', call `microphone.resume()` from a click).
   */
  async startMicrophone(options: MicrophoneOptions & { deviceId?: string; autoRecover?: boolean } = {}): Promise<Microphone> {
    if (this.closed) throw new SpokenDigitsError('ERR_CLOSED', 'this WebListener is closed');
    await this.stopMicrophone();
    const mic = new Microphone(options);
    mic.autoRecover = options.autoRecover ?? false;
    mic.onBlock = (block) => this.push(block, mic.sampleRate);
    mic.onState = (state, detail) => {
      this.emit('microphone', { state, detail });
      // A new stream is a new timeline: the old one ends where its audio ended.
      if (state === 'lost' || state === 'starting') void this.end();
    };
    this.mic = mic;
    // The model's set-up at the microphone's rate is paid before the first digit, not by it.
    await mic.start(options.deviceId);
    if (mic.state === 'on' || mic.state === 'suspended') await this.enqueue(() => this.recognizer.prepareFor(mic.sampleRate));
    return mic;
  }

  /** Stops the microphone, and ends its timeline. */
  async stopMicrophone(): Promise<EndEvent | undefined> {
    const mic = this.mic;
    if (!mic) return undefined;
    this.mic = undefined;
    mic.onBlock = () => {};
    await mic.close();
    return this.end();
  }

  /** Stops the microphone, ends the timeline and releases the model (if the WebListener loaded it). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopMicrophone();
    await this.end();
    this.closed = true;
    this.handlers.clear();
    if (this.ownsRecognizer) await this.recognizer.dispose();
  }
}
