import { CaptureError } from '../errors.js';
import { CAPTURE_PROCESSOR, CAPTURE_WORKLET_SOURCE } from './capture-worklet.js';

export type MicState = 'off' | 'starting' | 'on' | 'suspended' | 'lost' | 'denied' | 'unavailable';

export interface MicrophoneOptions {
  /**
   * Where to load the capture worklet from. By default it is made from a Blob URL, which needs
   * `blob:` in a page's `script-src` if it has a Content-Security-Policy; a page whose policy allows
   * 'self' only serves CAPTURE_WORKLET_SOURCE as a file of its own and passes its URL (as the kiosk does).
   */
  workletUrl?: string | URL;
}

/**
 * The microphone: getUserMedia -> AudioWorklet -> blocks of mono float samples at the context's
 * rate. When the device goes away (unplugged, driver reset) it reports 'lost' and, with
 * `autoRecover`, keeps trying to reopen it until it succeeds.
 */
export class Microphone {
  onBlock: (samples: Float32Array) => void = () => {};
  onState: (state: MicState, detail?: string) => void = () => {};
  autoRecover = false;
  state: MicState = 'off';
  private ctx: AudioContext | undefined;
  private stream: MediaStream | undefined;
  private source: MediaStreamAudioSourceNode | undefined;
  private node: AudioWorkletNode | undefined;
  private sink: GainNode | undefined;
  private context: Promise<AudioContext> | undefined;
  private deviceId = '';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private wanted = false;

  private readonly onDeviceChange = (): void => {
    // A device plugged in: reopen when it was lost or none was there.
    if (this.wanted && (this.state === 'lost' || this.state === 'unavailable')) void this.open().catch(() => undefined);
  };

  constructor(private readonly options: MicrophoneOptions = {}) {
    navigator.mediaDevices?.addEventListener?.('devicechange', this.onDeviceChange);
  }

  get sampleRate(): number {
    return this.ctx?.sampleRate ?? 48000;
  }

  private setState(state: MicState, detail?: string): void {
    this.state = state;
    this.onState(state, detail);
  }

  async start(deviceId = this.deviceId): Promise<void> {
    this.deviceId = deviceId;
    this.wanted = true;
    await this.open();
  }

  /** Resumes a context that the autoplay policy suspended; call from a user gesture. */
  async resume(): Promise<void> {
    if (this.ctx && this.ctx.state !== 'running') await this.ctx.resume();
    if (this.ctx?.state === 'running' && this.state === 'suspended') this.setState('on');
  }

  private async open(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.closeStream();
    if (!navigator.mediaDevices?.getUserMedia) {
      this.setState('unavailable', 'this browser gives no microphone access here (it needs https or localhost)');
      throw new CaptureError('no microphone API: the page must be served over https or from localhost');
    }
    this.setState('starting');
    // The audio graph is ready before the device opens: what the device captures from its first
    // moment reaches the worklet, not only what comes after the worklet's module has loaded.
    let ctx: AudioContext;
    try {
      ctx = await this.audioContext();
    } catch (err) {
      this.setState('unavailable', (err as Error).message);
      throw err;
    }
    try {
      const constraints: MediaTrackConstraints = {
        channelCount: 1,
        // Raw audio: the model was trained on unprocessed speech, and AGC pumping confuses the VAD.
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      };
      if (this.deviceId) constraints.deviceId = { exact: this.deviceId };
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    } catch (err) {
      const name = (err as DOMException)?.name;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        this.setState('denied', 'microphone permission was refused');
        this.wanted = this.autoRecover && this.wanted;
      } else if (name === 'OverconstrainedError' && this.deviceId) {
        // The chosen device is gone: fall back to the default one rather than staying deaf.
        this.deviceId = '';
        this.setState('lost', 'the chosen microphone is not present; using the default');
      } else if (name === 'NotFoundError') {
        // No capture device at all: said as such (with autoRecover, opened once one is plugged in).
        this.setState('unavailable', this.autoRecover ? 'none is connected; waiting for one' : 'none is connected');
      } else {
        this.setState('lost', `no microphone (${name ?? err})`);
      }
      this.scheduleRetry();
      return;
    }
    if (!this.wanted) {
      // stop() was called while the device was opening: release it instead of starting it.
      this.closeStream();
      return;
    }
    this.source = ctx.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(ctx, CAPTURE_PROCESSOR, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    this.node.port.onmessage = (e: MessageEvent<Float32Array>) => this.onBlock(e.data);
    // A silent sink keeps the graph pulled on every browser without playing the mic back.
    this.sink = ctx.createGain();
    this.sink.gain.value = 0;
    this.source.connect(this.node).connect(this.sink).connect(ctx.destination);
    for (const track of this.stream.getAudioTracks()) {
      track.addEventListener('ended', () => {
        if (!this.wanted) return;
        this.setState('lost', 'the microphone went away');
        this.scheduleRetry();
      });
    }
    if (ctx.state !== 'running') {
      try {
        await Promise.race([ctx.resume(), new Promise((r) => setTimeout(r, 300))]);
      } catch {
        // stays suspended until a user gesture
      }
    }
    this.setState(ctx.state === 'running' ? 'on' : 'suspended');
  }

  /** One AudioContext with the capture worklet loaded, made on first use (a failed load is tried again next time). */
  private audioContext(): Promise<AudioContext> {
    this.context ??= (async () => {
      const ctx = new AudioContext({ latencyHint: 'interactive' });
      const given = this.options.workletUrl;
      const url = given ? String(given) : URL.createObjectURL(new Blob([CAPTURE_WORKLET_SOURCE], { type: 'text/javascript' }));
      try {
        await ctx.audioWorklet.addModule(url);
      } catch (err) {
        void ctx.close();
        throw new CaptureError(`cannot load the capture worklet${given ? ` from ${url}` : ' (a Content-Security-Policy without blob: in script-src blocks it; pass workletUrl)'}`, { cause: err });
      } finally {
        if (!given) URL.revokeObjectURL(url);
      }
      this.ctx = ctx;
      return ctx;
    })().catch((err) => {
      this.context = undefined;
      throw err;
    });
    return this.context;
  }

  private scheduleRetry(): void {
    if (!this.autoRecover || !this.wanted) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open().catch(() => undefined), 2000);
  }

  private closeStream(): void {
    this.node?.port.close();
    this.node?.disconnect();
    this.source?.disconnect();
    this.sink?.disconnect();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.node = this.source = this.sink = this.stream = undefined;
  }

  /** Ends the tracks as an unplugged device would (the browser tests' stand-in for pulling the USB plug). */
  simulateDeviceLoss(): void {
    for (const track of this.stream?.getAudioTracks() ?? []) {
      track.stop();
      track.dispatchEvent(new Event('ended'));
    }
  }

  stop(): void {
    this.release();
    this.setState('off');
  }

  /**
   * No more audio wanted, the state left as it is (a lost or missing microphone stays said): nothing
   * reopens it, not a device plugged in later, until start().
   */
  release(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.closeStream();
  }

  /** Stops and releases the audio context too (start() makes a new one). */
  async close(): Promise<void> {
    if (this.state !== 'off') this.stop();
    navigator.mediaDevices?.removeEventListener?.('devicechange', this.onDeviceChange);
    const ctx = this.ctx;
    this.ctx = undefined;
    this.context = undefined;
    await ctx?.close().catch(() => undefined);
  }

  /** Audio input devices; labels are empty until the user granted the microphone once. */
  static async devices(): Promise<MediaDeviceInfo[]> {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  }
}
