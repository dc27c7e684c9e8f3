import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeWav, decodeWavFrames, MAX_STREAM_HEADER_BYTES, openWavStream, readWavStreamHeader, validateSampleRate, type WavInfo } from '../audio/index.js';
import { isChunkId } from '../audio/wav.js';
import { isUsableFloat, MAX_FLOAT_SAMPLE } from '../audio/pcm.js';
import { AudioInputError, CaptureError } from '../errors.js';
import { loadNativeCapture, loadNaudiodon, type CaptureDevice, type CaptureStats, type NativeCaptureStream } from './core.js';

/**
 * Where a Listener's audio comes from. Blocks are mono Float32 in [-1, 1] at `sampleRate`; they
 * may have any length. Iteration ends when the source ends; `close` stops it early.
 */
export interface AudioSource extends AsyncIterable<Float32Array> {
  readonly kind: 'microphone' | 'file' | 'stdin' | 'readable' | 'push';
  readonly sampleRate: number;
  /** Paced at real time (a microphone, or a file played in real time). */
  readonly realtime: boolean;
  readonly description: string;
  /** A WAV file shorter than its header declares (cut off while being written): what is there is read. */
  readonly truncated?: boolean;
  close(): Promise<void>;
  /** Frames lost because the reader fell behind (capture ring full); 0 for other sources. */
  droppedFrames(): number;
  captureStats?(): CaptureStats | null;
  /**
   * Pacing hint from the reader: `true` while nothing is in progress (no speech open, no digit
   * string waiting for its closing pause), so a real-time source may wake less often and deliver
   * larger blocks; `false` as soon as speech starts. Only the onset of speech (and level events)
   * can come later, by up to `idlePollMs`; never a digit or the string it closes. Sources start idle.
   */
  setIdle?(idle: boolean): void;
}

export interface FileSourceOptions {
  /** Deliver blocks at the pace of the audio (like a microphone) instead of as fast as possible. */
  realtime?: boolean;
  /** Block length in milliseconds. Default 20 when real time, 500 otherwise. */
  blockMs?: number;
  /** Real time only: while the reader is idle (`setIdle`), blocks come in bursts this far apart. Default 100. */
  idlePollMs?: number;
}

/** A WAV file, read block by block (memory stays flat for hour-long files). */
export async function openFileSource(path: string, options: FileSourceOptions = {}): Promise<AudioSource> {
  const realtime = options.realtime ?? false;
  const blockMs = options.blockMs ?? (realtime ? 20 : 500);
  if (!(blockMs >= 1 && blockMs <= 60000)) throw new AudioInputError(`blockMs must be in 1..60000, got ${blockMs}`);
  const probe = await openWavStream(path, { blockFrames: 1 });
  const { sampleRate: rate, truncated, durationSec, declaredDataBytes, blockAlign } = probe.info;
  await probe.close();
  const declaredSec = Math.floor(declaredDataBytes / blockAlign) / rate;
  const stream = await openWavStream(path, { blockFrames: Math.max(1, Math.round((rate * blockMs) / 1000)) });
  const idleWaitMs = Math.max(0, idlePollMs(options.idlePollMs) - blockMs);
  let closed = false;
  let idle = true;
  return {
    kind: 'file',
    sampleRate: rate,
    realtime,
    description: `${path} (${rate} Hz${realtime ? ', real time' : ''}${truncated ? `; truncated: ${durationSec.toFixed(2)} s of the ${declaredSec.toFixed(2)} s its header declares` : ''})`,
    ...(truncated ? { truncated } : {}),
    droppedFrames: () => 0,
    setIdle(value: boolean) {
      idle = value;
    },
    async close() {
      closed = true;
      await stream.close();
    },
    async *[Symbol.asyncIterator]() {
      const t0 = performance.now();
      let sent = 0;
      for await (const block of stream) {
        if (closed) break;
        if (realtime) {
          // A block is delivered when its last sample would have been heard, as a microphone delivers it.
          const due = t0 + ((sent + block.length) / rate) * 1000;
          const wait = due - performance.now();
          // Idle: sleep until the next idlePollMs of audio is due, then deliver those blocks at once.
          if (wait > 1) await sleep(wait + (idle ? idleWaitMs : 0));
        }
        sent += block.length;
        yield block;
      }
    },
  };
}

function idlePollMs(ms: number | undefined): number {
  const v = ms ?? 100;
  if (!(v >= 1 && v <= 1000)) throw new AudioInputError(`idlePollMs must be in 1..1000, got ${v}`);
  return v;
}

export interface RawPcmOptions {
  /**
   * Required for raw PCM. A stream that turns out to be a WAV file says its own format: each of
   * these given must then be the WAV's own (a different one is refused as a mistake somewhere).
   */
  sampleRate?: number;
  /** Default s16le. */
  encoding?: 's16le' | 'f32le';
  /** Default 1. */
  channels?: number;
}

const OTHER_CONTAINERS: [string, string][] = [
  ['ID3', 'MP3'],
  ['OggS', 'Ogg'],
  ['fLaC', 'FLAC'],
  ['\x1aE\xdf\xa3', 'Matroska/WebM'],
];

/** Whether `b` starts with a RIFF/WAVE header's first 12 bytes. */
const isWavStart = (b: Buffer) => b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WAVE';

/** How many of a stream's first bytes tell text from audio. */
const SNIFF_BYTES = 64;
/** Raw f32le with more than 1 unusable float (NaN, Inf, beyond ±MAX_FLOAT_SAMPLE) in this many is not float PCM. */
const BAD_FLOAT_SHARE = 16;

/**
 * What the stream's first bytes are; `whole`: they are all of it (a short text is then recognizable as
 * text too). Refuses input that is clearly not audio (a text file, an MP3) rather than "hearing" it.
 */
function sniff(head: Buffer, what: string, whole: boolean): 'wav' | 'raw' {
  const ascii = head.subarray(0, 4).toString('latin1');
  if (isWavStart(head)) return 'wav';
  if (ascii === 'RIFF' && whole && head.length < 12) throw new AudioInputError(`${what} ended inside a WAV header (${head.length} bytes; the RIFF header alone is 12): no audio`);
  // A WAV the reader does not take (big-endian RIFX, 64-bit RF64 / BW64) or a RIFF of another kind
  // (AVI, WebP): the WAV reader's own message says which, not "raw PCM needs its rate".
  if (head.length >= 12 && ['RIFF', 'RIFX', 'RF64', 'BW64'].includes(ascii)) readWavStreamHeader(head, what);
  for (const [magic, name] of OTHER_CONTAINERS) {
    if (ascii.startsWith(magic)) throw new AudioInputError(`${what} looks like ${name}, not raw PCM or WAV; convert it first (e.g. ffmpeg -i in -f wav -ac 1 -ar 16000 -)`);
  }
  // Judged on the first SNIFF_BYTES exactly, however many the first reads brought: the same bytes get the same verdict.
  const sample = head.subarray(0, SNIFF_BYTES);
  if (sample.length === SNIFF_BYTES || (whole && sample.length >= 2)) {
    let text = 0;
    for (const b of sample) if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09) text++;
    if (text === sample.length) throw new AudioInputError(`${what} is text, not audio: expected raw PCM (--rate, s16le) or a WAV file`);
  }
  return 'raw';
}

/**
 * Raw PCM (s16le or f32le, interleaved) or a WAV file from any Node Readable (stdin, a socket, a
 * child process). A stream that starts with a RIFF/WAVE header is decoded as WAV.
 */
export async function openReadableSource(readable: Readable, options: RawPcmOptions = {}, kind: 'stdin' | 'readable' = 'readable'): Promise<AudioSource> {
  const what = kind === 'stdin' ? 'stdin' : 'the input stream';
  const encoding = options.encoding ?? 's16le';
  const channels = options.channels ?? 1;
  if (encoding !== 's16le' && encoding !== 'f32le') throw new AudioInputError(`encoding must be s16le or f32le, got ${String(encoding)}`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 32) throw new AudioInputError(`channels must be 1..32, got ${channels}`);
  const chunks = readable[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let closed = false;
  /** The next chunk, or null at the end of the stream or once closed; the stream's own failure (a reset socket, a read error) as the library's error kind. */
  const nextChunk = async (): Promise<Buffer | null> => {
    let r: IteratorResult<Buffer | string>;
    try {
      r = await chunks.next();
    } catch (err) {
      if (closed) return null;
      throw err instanceof AudioInputError ? err : new AudioInputError(`${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    if (r.done || closed) return null;
    return typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  };
  // Destroyed first: a read waiting on a quiet pipe (stdin with nothing to say) ends now, not when data next comes.
  const close = async () => {
    if (closed) return;
    closed = true;
    readable.destroy();
    await chunks.return?.().catch(() => undefined);
  };

  // Refused after reading (no audio, a rate missing or wrong, not audio at all): the stream is let go, so a pipe holds nothing open.
  try {
    // Look at the first bytes before deciding what this is.
    let head: Buffer = Buffer.alloc(0);
    let ended = false;
    while (head.length < SNIFF_BYTES && !ended) {
      const chunk = await nextChunk();
      if (chunk === null) ended = true;
      else head = Buffer.concat([head, chunk]);
    }
    if (head.length === 0) throw new AudioInputError(`${what} closed without sending any audio`);
    const format = sniff(head, what, ended);

    if (format === 'wav') {
      // Streamed as it arrives, like raw PCM (`arecord | digits listen --input -` is live): the header first.
      // Several WAVs one after another (`cat a.wav b.wav |`) are heard one after another, at one rate.
      const name = `the WAV on ${what}`;
      let bytes = head;
      /** The header at the start of `bytes`, reading more until it is whole. */
      const readHeader = async (): Promise<WavInfo | null> => {
        let info = readWavStreamHeader(bytes, name);
        // A long chunk before the samples (cover art) arrives in many reads: joined and parsed again only
        // each time the bytes have doubled, so waiting for it costs linear time.
        const parts: Buffer[] = [bytes];
        let total = bytes.length;
        while (!info) {
          // Stopped while a next WAV's header was coming (Ctrl-C): a stop, not a cut WAV.
          if (closed) return null;
          if (ended) {
            decodeWav(bytes, { name }); // the stream ended inside the header: the file's own error says where
            throw new AudioInputError(`${name} ended before its samples`);
          }
          if (total > MAX_STREAM_HEADER_BYTES) throw new AudioInputError(`${name} has over ${MAX_STREAM_HEADER_BYTES >> 20} MiB before its samples: not a WAV stream`);
          const chunk = await nextChunk();
          if (chunk === null) ended = true;
          else {
            parts.push(chunk);
            total += chunk.length;
          }
          if (ended || total >= 2 * bytes.length) {
            bytes = Buffer.concat(parts);
            parts.splice(0, parts.length, bytes);
            info = readWavStreamHeader(bytes, name);
          }
        }
        // A WAV says its own format; a different one asked for is a mistake somewhere, not something to pick from.
        if (options.sampleRate !== undefined && options.sampleRate !== info.sampleRate) {
          throw new AudioInputError(`${name} is ${info.sampleRate} Hz, not the ${options.sampleRate} Hz asked for (a sample rate is for raw PCM; a WAV needs none)`);
        }
        const wavEncoding = info.format === 'pcm' && info.bitsPerSample === 16 ? 's16le' : info.format === 'float' && info.bitsPerSample === 32 ? 'f32le' : null;
        if (options.encoding !== undefined && options.encoding !== wavEncoding) {
          throw new AudioInputError(`${name} is ${info.bitsPerSample}-bit ${info.format}, not the ${options.encoding} asked for (an encoding is for raw PCM; a WAV needs none)`);
        }
        if (options.channels !== undefined && options.channels !== info.channels) {
          throw new AudioInputError(`${name} has ${info.channels} channel${info.channels === 1 ? '' : 's'}, not the ${options.channels} asked for (channels are for raw PCM; a WAV needs none)`);
        }
        return info;
      };
      /**
       * Skips `skip` bytes of the stream from `bytes` on (across reads, without keeping them), then
       * reads until `n` bytes follow (fewer only at the end of the stream); those become `bytes`.
       */
      const skipThenRead = async (skip: number, n: number): Promise<Buffer> => {
        let b = bytes;
        while (skip > 0 && skip >= b.length) {
          skip -= b.length;
          b = Buffer.alloc(0);
          const chunk = ended || closed ? null : await nextChunk();
          if (chunk === null) {
            ended = true;
            return (bytes = b);
          }
          b = chunk;
        }
        b = b.subarray(skip);
        while (b.length < n && !ended && !closed) {
          const chunk = await nextChunk();
          if (chunk === null) ended = true;
          else b = Buffer.concat([b, chunk]);
        }
        return (bytes = b);
      };
      let wav = (await readHeader())!; // null only once closed, which the caller cannot have done yet
      let left = wav.dataBytes;
      let frame = 0;
      let carry: Buffer = Buffer.alloc(0);
      /** Samples of the data chunk in `chunk`; what follows the chunk's end is left in `bytes`. */
      const decodeSome = (chunk: Buffer): Float32Array => {
        const all = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        const usable = Math.min(all.length, left);
        const whole = usable - (usable % wav.blockAlign);
        carry = Buffer.from(all.subarray(whole, usable));
        left -= whole;
        bytes = all.subarray(usable);
        const out = decodeWavFrames(all.subarray(0, whole), wav, frame, name);
        frame += out.length;
        return out;
      };
      /**
       * After a data chunk: its odd bytes and pad, then chunks to skip (LIST, id3), up to the next
       * WAV's RIFF header, whose header is then read. False at the end of the stream, or at bytes that
       * are no chunk (past a data size that lied), which are let go as a file's would be.
       */
      const nextWav = async (): Promise<boolean> => {
        const pad = wav.declaredDataBytes % 2;
        // The data chunk's stray bytes (less than a frame), then its pad byte, if any.
        let b = await skipThenRead(wav.declaredDataBytes - wav.dataBytes, 12 + pad);
        // A writer that left the pad byte out (the file walker takes that too): the next WAV right after the data.
        const padLeftOut = pad === 1 && isWavStart(b);
        if (!padLeftOut) b = bytes = b.subarray(pad);
        for (let chunks = 0; chunks < 64; chunks++) {
          if (b.length < 8) return false;
          if (isWavStart(b)) {
            const first = wav.sampleRate;
            const next = await readHeader();
            if (!next) return false;
            if (next.sampleRate !== first) throw new AudioInputError(`${name}: the next WAV on it is ${next.sampleRate} Hz, the first was ${first} Hz; one stream has one rate (convert them first)`);
            wav = next;
            left = wav.dataBytes;
            carry = Buffer.alloc(0);
            bytes = bytes.subarray(wav.dataOffset);
            return true;
          }
          if (!isChunkId(b.subarray(0, 4))) return false;
          const size = b.readUInt32LE(4);
          // A chunk too large to be metadata between WAVs is no such thing: what follows is let go.
          if (size > MAX_STREAM_HEADER_BYTES) return false;
          b = await skipThenRead(8 + size + (size % 2), 12);
        }
        return false;
      };
      return {
        kind,
        sampleRate: wav.sampleRate,
        realtime: false,
        description: `WAV on ${what} (${wav.sampleRate} Hz)`,
        droppedFrames: () => 0,
        close,
        async *[Symbol.asyncIterator]() {
          bytes = bytes.subarray(wav.dataOffset);
          do {
            const first = decodeSome(bytes);
            if (first.length) yield first;
            while (!closed && left > 0) {
              const chunk = ended ? null : await nextChunk();
              if (chunk === null) {
                ended = true;
                break;
              }
              const block = decodeSome(chunk);
              if (block.length) yield block;
            }
          } while (!closed && left === 0 && (await nextWav()));
          if (!closed && frame === 0) throw new AudioInputError(`${name} ended without one whole sample frame (${wav.blockAlign} bytes): no audio`);
        },
      };
    }

    if (options.sampleRate === undefined) throw new AudioInputError(`raw PCM on ${what} needs its sample rate (the sampleRate option; --rate on the command line)`);
    validateSampleRate(options.sampleRate, `sample rate of ${what}`);
    const bytesPerFrame = (encoding === 's16le' ? 2 : 4) * channels;
    let carry: Buffer = Buffer.alloc(0);
    // Unusable floats (NaN, Inf, beyond ±MAX_FLOAT_SAMPLE) are counted over fixed windows of the
    // stream's values, not per read, so the same bytes give the same verdict however a pipe cuts them.
    const window = 4096;
    let windowValues = 0;
    let windowsJudged = 0;
    let badFloats = 0;
    const notFloats = () => new AudioInputError(`${what} carries NaN, Inf or values far beyond full scale (±${MAX_FLOAT_SAMPLE}) in more than 1 of ${BAD_FLOAT_SHARE} floats: it is not f32le PCM`);
    let framesDecoded = 0;
    const decode = (chunk: Buffer): Float32Array => {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const frames = Math.floor(buf.length / bytesPerFrame);
      carry = Buffer.from(buf.subarray(frames * bytesPerFrame));
      const out = new Float32Array(frames);
      const inv = 1 / channels;
      for (let f = 0, p = 0; f < frames; f++) {
        let s = 0;
        for (let c = 0; c < channels; c++) {
          if (encoding === 's16le') {
            s += buf.readInt16LE(p) / 32768;
            p += 2;
          } else {
            let v = buf.readFloatLE(p);
            p += 4;
            if (!isUsableFloat(v)) {
              v = 0;
              badFloats++;
            }
            s += v > 1 ? 1 : v < -1 ? -1 : v;
            // A stray glitch is zeroed; a window with more than a few is not float PCM at all (s16le
            // read as f32le, for one: a tenth of its values NaN/Inf, more beyond ±16).
            if (++windowValues === window) {
              if (badFloats * BAD_FLOAT_SHARE > window) throw notFloats();
              windowValues = badFloats = 0;
              windowsJudged++;
            }
          }
        }
        out[f] = s * inv;
      }
      framesDecoded += frames;
      return out;
    };
    const rate = options.sampleRate;
    return {
      kind,
      sampleRate: rate,
      realtime: false,
      description: `raw ${encoding} PCM on ${what} (${rate} Hz, ${channels} channel${channels > 1 ? 's' : ''})`,
      droppedFrames: () => 0,
      close,
      async *[Symbol.asyncIterator]() {
        const first = decode(head);
        if (first.length) yield first;
        while (!closed && !ended) {
          const chunk = await nextChunk();
          if (chunk === null) break;
          const block = decode(chunk);
          if (block.length) yield block;
        }
        if (!closed && framesDecoded === 0) throw new AudioInputError(`${what} closed after ${carry.length} byte${carry.length === 1 ? '' : 's'}, less than one ${encoding} frame (${bytesPerFrame} bytes): no audio`);
        // A stream shorter than one window is judged whole; a longer one's last few values are strays at most.
        if (!closed && windowsJudged === 0 && windowValues > 0 && badFloats * BAD_FLOAT_SHARE > windowValues) throw notFloats();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface MicrophoneOptions {
  /** Device index, or a (case-insensitive, partial) device name; default input when omitted. */
  device?: number | string;
  /**
   * Rate to open the device at. Default: the device's own default rate, so the driver does not
   * convert (ALSA's plug converter interpolates linearly and aliases) and the DSP core's resampler
   * brings the audio to the model's rate instead.
   */
  sampleRate?: number;
  /** How far the reader may fall behind before samples are dropped. Default 2 s. */
  bufferSeconds?: number;
  /** How often the ring is drained. Default 20 ms. */
  pollMs?: number;
  /** How often while the reader is idle (`setIdle`: no speech open); at most half the ring. Default 100 ms. */
  idlePollMs?: number;
  /** Driver-side buffering in seconds; 0 = the device's low-latency default. */
  latency?: number;
  framesPerBuffer?: number;
  /** Stop after this many frames (tests with a file-backed ALSA device). */
  maxFrames?: number;
  /** No audio for this long while running means the device is gone. Default 2000 ms. */
  stallMs?: number;
  /** Which capture implementation; default: the addon, else naudiodon2. */
  backend?: 'addon' | 'naudiodon';
}

/** Input devices, from the addon's PortAudio, else naudiodon2's. */
export function listInputDevices(): { backend: 'addon' | 'naudiodon'; devices: CaptureDevice[] } {
  const native = loadNativeCapture();
  if ('binding' in native) return { backend: 'addon', devices: native.binding.listCaptureDevices() };
  const nd = loadNaudiodon();
  if ('module' in nd) {
    // Each naudiodon2 call initializes PortAudio afresh, and on a machine without a sound card each
    // such scan has alsa-lib print ~60 lines to stderr (see the README's "Live listening"): none
    // counted by any host API, the device list is not asked for.
    const hostApis = nd.module.getHostAPIs();
    const def = hostApis.HostAPIs[hostApis.defaultHostAPI]?.defaultInput;
    if (!hostApis.HostAPIs.some((api) => api.deviceCount > 0)) return { backend: 'naudiodon', devices: [] };
    const devices = nd.module
      .getDevices()
      .filter((d) => d.maxInputChannels > 0)
      .map((d) => ({
        index: d.id,
        name: d.name,
        hostApi: d.hostAPIName,
        maxInputChannels: d.maxInputChannels,
        defaultSampleRate: d.defaultSampleRate,
        defaultLowInputLatency: d.defaultLowInputLatency,
        isDefault: d.id === def,
        supportedRates: [],
      }));
    return { backend: 'naudiodon', devices };
  }
  throw captureUnavailable(native.unavailable, nd.unavailable);
}

/**
 * Neither the addon's capture nor naudiodon2: why, and the one fix that fits. A prebuilt addon that found no
 * libportaudio2 names its fix itself (that package, no compiler); an addon built without PortAudio, or none, needs
 * portaudio19-dev and a rebuild.
 */
function captureUnavailable(native: string, naudiodon: string): CaptureError {
  const fix = /install libportaudio2/.test(native) ? '' : ' Install portaudio19-dev and rebuild the addon (npm run build:native), or install naudiodon2.';
  return new CaptureError(`live capture is unavailable: ${native}; and ${naudiodon}.${fix} --input FILE|- works without a microphone`);
}

/** The default (or a chosen) microphone through the addon's PortAudio capture, else naudiodon2. */
export async function openMicrophone(options: MicrophoneOptions = {}): Promise<AudioSource> {
  const native = options.backend === 'naudiodon' ? { unavailable: 'naudiodon2 was asked for' } : loadNativeCapture();
  if ('binding' in native) return openAddonMicrophone(native.binding, options);
  if (options.backend === 'addon') throw new CaptureError(`live capture through the addon is unavailable: ${native.unavailable}`);
  const nd = loadNaudiodon();
  if ('module' in nd) return openNaudiodonMicrophone(nd.module, options);
  throw captureUnavailable(native.unavailable, nd.unavailable);
}

function resolveDevice(device: number | string | undefined, find: (q: string) => number): number {
  if (device === undefined || device === '' || device === 'default') return -1;
  if (typeof device === 'number') {
    // An index PortAudio could never give is no device, not the default one (the addon once took 99999999999 as -1).
    if (!Number.isSafeInteger(device) || device < 0) throw new CaptureError(`device ${device} is not a device index (0, 1, ...; --list-devices lists them)`);
    if (device > 2 ** 31 - 1) throw new CaptureError(`there is no device ${device} (--list-devices lists them)`);
    return device;
  }
  try {
    return find(device);
  } catch (err) {
    throw new CaptureError((err as Error).message, { cause: err });
  }
}

function deviceDefaultRate(binding: import('./core.js').NativeCaptureBinding, device: number): number | undefined {
  try {
    const devices = binding.listCaptureDevices();
    const d = device < 0 ? devices.find((x) => x.isDefault) : devices.find((x) => x.index === device);
    return d ? Math.round(d.defaultSampleRate) : undefined;
  } catch {
    return undefined;
  }
}

function openAddonMicrophone(binding: import('./core.js').NativeCaptureBinding, options: MicrophoneOptions): AudioSource {
  const pollMs = options.pollMs ?? 20;
  const bufferSeconds = options.bufferSeconds ?? 2;
  // Never so long that the ring could fill between two drains.
  const idleMs = Math.max(pollMs, Math.min(idlePollMs(options.idlePollMs), bufferSeconds * 500));
  const stallMs = options.stallMs ?? 2000;
  const device = resolveDevice(options.device, (q) => binding.findCaptureDevice(q));
  const rate = options.sampleRate ?? deviceDefaultRate(binding, device) ?? 16000;
  validateSampleRate(rate, 'microphone sample rate');
  const open = (r: number) =>
    new binding.CaptureStream({
      device,
      sampleRate: r,
      channels: 1,
      bufferSeconds,
      latency: options.latency ?? 0,
      framesPerBuffer: options.framesPerBuffer ?? 0,
    });
  let stream: NativeCaptureStream;
  try {
    stream = open(rate);
  } catch (err) {
    // A device that cannot run at the asked rate (some USB mics: 48 kHz only) is opened at its own
    // default rate instead; the Listener works at any rate and the recognizer resamples.
    const fallback = /sample ?rate/i.test((err as Error).message) ? deviceDefaultRate(binding, device) : undefined;
    if (fallback === undefined || fallback === rate) throw new CaptureError(`cannot open the microphone: ${(err as Error).message}`, { cause: err });
    try {
      stream = open(fallback);
    } catch (err2) {
      throw new CaptureError(`cannot open the microphone at ${rate} Hz nor at its default ${fallback} Hz: ${(err2 as Error).message}`, { cause: err2 });
    }
  }
  const actualRate = stream.sampleRate;
  let closed = false;
  let idle = true;
  let lastStats: CaptureStats | null = null;
  let dropped = 0;
  // process.exit() runs no environment cleanup hooks (the addon's way to close what is left open): the stream is closed here then.
  const closeAtExit = () => stream.close();
  process.once('exit', closeAtExit);
  const close = async () => {
    if (closed) return;
    closed = true;
    process.off('exit', closeAtExit);
    lastStats = stream.stats();
    dropped = lastStats.droppedFrames;
    stream.close();
  };
  return {
    kind: 'microphone',
    sampleRate: actualRate,
    realtime: true,
    description: `microphone ${device < 0 ? '(default device)' : `#${device}`} via the addon's PortAudio at ${actualRate} Hz`,
    droppedFrames: () => (closed ? dropped : (lastStats = stream.stats()).droppedFrames),
    captureStats: () => lastStats,
    setIdle(value: boolean) {
      idle = value;
    },
    close,
    async *[Symbol.asyncIterator]() {
      const buf = new Float32Array(Math.max(1024, Math.ceil(actualRate * 0.25)));
      let total = 0;
      let lastData = performance.now();
      try {
        stream.start();
      } catch (err) {
        await close();
        throw new CaptureError(`cannot start the microphone: ${(err as Error).message}`, { cause: err });
      }
      try {
        while (!closed) {
          const want = options.maxFrames !== undefined ? Math.min(buf.length, options.maxFrames - total) : buf.length;
          if (want <= 0) break;
          const n = stream.read(want === buf.length ? buf : buf.subarray(0, want));
          if (n > 0) {
            total += n;
            lastData = performance.now();
            yield buf.slice(0, n);
            continue;
          }
          const st = stream.stats();
          if (!st.active) throw new CaptureError('the capture device stopped delivering audio (unplugged or failed)');
          if (performance.now() - lastData > stallMs) throw new CaptureError(`no audio from the capture device for ${stallMs} ms; it may have been disconnected`);
          await sleep(idle ? idleMs : pollMs);
        }
      } finally {
        await close();
      }
    },
  };
}

function openNaudiodonMicrophone(nd: typeof import('naudiodon2'), options: MicrophoneOptions): AudioSource {
  const rate = options.sampleRate ?? 16000;
  validateSampleRate(rate, 'microphone sample rate');
  const device = resolveDevice(options.device, (q) => {
    const d = nd.getDevices().filter((x) => x.maxInputChannels > 0);
    const exact = /^\d+$/.test(q) ? d.find((x) => x.id === Number(q)) : d.find((x) => x.name.toLowerCase().includes(q.toLowerCase()));
    if (!exact) throw new Error(`no input device matches '${q}'; input devices: ${d.map((x) => `${x.id}: ${x.name}`).join(', ') || 'none'}`);
    return exact.id;
  });
  let io: import('naudiodon2').IoStreamRead;
  try {
    io = nd.AudioIO({
      inOptions: { channelCount: 1, sampleFormat: nd.SampleFormatFloat32, sampleRate: rate, deviceId: device, closeOnError: true, highwaterMark: 4096 },
    });
  } catch (err) {
    throw new CaptureError(`cannot open the microphone through naudiodon2: ${(err as Error).message}`, { cause: err });
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => io.quit(() => resolve()));
  };
  return {
    kind: 'microphone',
    sampleRate: rate,
    realtime: true,
    description: `microphone ${device < 0 ? '(default device)' : `#${device}`} via naudiodon2 at ${rate} Hz`,
    droppedFrames: () => 0,
    close,
    async *[Symbol.asyncIterator]() {
      // Its Readable is drained through 'data' events: breaking out of an async iterator over it
      // destroys the stream and naudiodon logs an AbortError.
      const queue: Buffer[] = [];
      let failure: Error | null = null;
      let wake: (() => void) | null = null;
      io.on('data', (b: Buffer) => {
        queue.push(b);
        wake?.();
      });
      io.on('error', (err: Error) => {
        failure = err;
        wake?.();
      });
      io.on('end', () => {
        failure ??= new CaptureError('the capture device stopped delivering audio (unplugged or failed)');
        wake?.();
      });
      let total = 0;
      let carry = Buffer.alloc(0);
      io.start();
      try {
        while (!closed) {
          if (!queue.length) {
            const f = failure as Error | null;
            if (f) throw f instanceof CaptureError ? f : new CaptureError(`capture failed: ${f.message}`, { cause: f });
            await new Promise<void>((r) => (wake = r));
            wake = null;
            continue;
          }
          const chunk = queue.shift()!;
          const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
          const frames = Math.floor(buf.length / 4);
          carry = Buffer.from(buf.subarray(frames * 4));
          const out = new Float32Array(frames);
          for (let i = 0; i < frames; i++) out[i] = buf.readFloatLE(i * 4);
          const n = options.maxFrames !== undefined ? Math.min(frames, options.maxFrames - total) : frames;
          total += n;
          if (n > 0) yield n === frames ? out : out.subarray(0, n);
          if (options.maxFrames !== undefined && total >= options.maxFrames) break;
        }
      } finally {
        await close();
      }
    },
  };
}
