import * as fs from 'node:fs';
import { AudioInputError, WavFormatError } from '../errors.js';
import { fsReason } from '../fs-reason.js';
import { FLOAT_LIMIT_NOTE, MAX_CHANNELS, MAX_FLOAT_SAMPLE, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from './pcm.js';

/*
 * Our own RIFF/WAVE parser rather than `wavefile`: audio comes from strangers, and we need
 * (a) never to allocate from a size the file declares, only from bytes that exist,
 * (b) typed errors that say what is wrong, (c) decoding straight to mono Float32 without an
 * interleaved Float64 copy of the whole file, and (d) the same header logic over a file
 * descriptor, so long files can be streamed without reading them whole.
 */

export type WavEncoding = 'pcm' | 'float' | 'alaw' | 'mulaw';

/** A data size a writer that cannot seek back leaves in the header (0, or 2 GB and up: 0xFFFFFFFF, 0x7FFFFFFF): "to the end". */
const isOpenEndedSize = (size: number) => size === 0 || size >= 0x7fff0000;

export interface WavInfo {
  /** Sample encoding after resolving WAVE_FORMAT_EXTENSIBLE. */
  format: WavEncoding;
  /** The fmt chunk's wFormatTag (0xFFFE for extensible). */
  formatTag: number;
  /** True when the file used WAVE_FORMAT_EXTENSIBLE. */
  extensible: boolean;
  channels: number;
  sampleRate: number;
  /** Container bits per sample (8, 16, 24, 32, 64). */
  bitsPerSample: number;
  /** Meaningful bits when the header says fewer than the container holds (e.g. 20 in 24). */
  validBitsPerSample: number;
  /** Bytes per frame (all channels). */
  blockAlign: number;
  /** Byte offset of the first sample in the file. */
  dataOffset: number;
  /** Bytes of sample data that actually exist (declared size clamped to the file, whole frames only). */
  dataBytes: number;
  /** What the data chunk header claimed. */
  declaredDataBytes: number;
  /** The declared data size ran past the end of the file (cut-off download, streaming writer). */
  truncated: boolean;
  frames: number;
  durationSec: number;
}

export interface DecodedAudio {
  /** Mono (channels averaged), in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
  /** Channels in the file, before the downmix. */
  channels: number;
  bitsPerSample: number;
  format: WavEncoding;
  durationSec: number;
  /** True when the file was shorter than its data chunk claimed; the samples present were decoded. */
  truncated: boolean;
}

export interface DecodeOptions {
  /**
   * Whole-file decoding refuses files longer than this (seconds) before allocating anything.
   * Default 600 (10 minutes). Use streamWavFile/openWavStream for long recordings.
   */
  maxDurationSec?: number;
  /**
   * Whole-file decoding also refuses more than this many output samples (mono frames), so a
   * high-rate file cannot make a huge Float32Array within the duration limit. Default 28.8 M
   * (10 minutes at 48 kHz, 115 MB).
   */
  maxFrames?: number;
  /** What error messages call the input: a file name, "the WAV on stdin". Default "WAV". */
  name?: string;
}

export const DEFAULT_MAX_DURATION_SEC = 600;
export const DEFAULT_MAX_FRAMES = 600 * 48000;

/** Random access to the bytes of a file or buffer; `read` may return fewer bytes at the end. */
interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

function fdSource(fd: number, size: number): ByteSource {
  return {
    size,
    read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const r = fs.readSync(fd, buf, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      return buf.subarray(0, got);
    },
  };
}

const fourCC = (b: Uint8Array, o = 0): string => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
/** Whether four bytes can be a RIFF chunk id (printable ASCII, e.g. "LIST", "id3 "). */
export const isChunkId = (b: Uint8Array): boolean => b.length === 4 && /^[\x20-\x7e]{4}$/.test(fourCC(b));

/**
 * An MPEG audio frame header: 11 sync bits, then a version, layer, bitrate and sample rate that are
 * not the reserved or invalid values (raw PCM whose first sample is -1, ff ff, has the sync bits too).
 */
function isMpegFrameHeader(h: Uint8Array): boolean {
  if (h.length < 3 || h[0] !== 0xff || (h[1] & 0xe0) !== 0xe0) return false;
  const version = (h[1] >> 3) & 3;
  const layer = (h[1] >> 1) & 3;
  const bitrate = h[2] >> 4;
  const rate = (h[2] >> 2) & 3;
  // Bitrate index 0 ("free format") is valid but next to unused; raw PCM of -1 then 0 (ff ff 00 00) has it.
  return version !== 1 && layer !== 0 && bitrate !== 0 && bitrate !== 15 && rate !== 3;
}

/** Names the other audio format a non-WAV file most likely is, so the error can say how to convert it. */
function sniffOtherFormat(head: Uint8Array): string | null {
  const s = fourCC(head);
  if (s.startsWith('ID3') || isMpegFrameHeader(head)) return 'an MP3 file';
  if (s === 'fLaC') return 'a FLAC file';
  if (s === 'OggS') return 'an Ogg (Vorbis/Opus) file';
  if (s === 'FORM') return 'an AIFF file';
  if (s === 'caff') return 'a Core Audio (CAF) file';
  if (s === '.snd') return 'a Sun/NeXT AU file';
  if (s.startsWith('#!AM')) return 'an AMR file';
  if (head.length >= 8 && fourCC(head, 4) === 'ftyp') return 'an MP4/M4A file';
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'a WebM/Matroska file';
  return null;
}

/** What a file that is not audio at all looks like, from its first bytes (null: unknown). */
function sniffNotAudio(head: Uint8Array): string | null {
  const s = fourCC(head);
  if (s.startsWith('PK')) return 'a ZIP archive';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'a gzip file';
  if (s === '\x89PNG') return 'a PNG image';
  // UTF-8 text (a byte-order mark allowed) without control characters but line breaks and tabs: an HTML error page, JSON, a CSV, a note.
  if (head.length >= 4 && isText(head)) return 'a text file';
  return null;
}

function isText(head: Uint8Array): boolean {
  const body = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
  let text: string;
  try {
    // stream: a character cut at the end of the bytes read is not an error.
    text = new TextDecoder('utf-8', { fatal: true }).decode(body, { stream: true });
  } catch {
    return false;
  }
  return !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text);
}

const KS_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const OTHER_TAGS: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MP3',
  0x0161: 'WMA',
};

/** Before the data chunk, more chunks than any real writer produces means a crafted file. */
const MAX_CHUNKS = 4096;

/** What the fmt chunk says: the first half of WavInfo. */
type FmtChunk = Pick<WavInfo, 'format' | 'formatTag' | 'extensible' | 'channels' | 'sampleRate' | 'bitsPerSample' | 'validBitsPerSample' | 'blockAlign'>;

function parseFmt(b: Uint8Array, declaredSize: number, where: string): FmtChunk {
  if (declaredSize < 16 || b.length < 16) {
    throw new WavFormatError(`${where}: fmt chunk is ${Math.min(declaredSize, b.length)} bytes, a WAV fmt chunk needs at least 16`);
  }
  const formatTag = u16(b, 0);
  const channels = u16(b, 2);
  const sampleRate = u32(b, 4);
  const blockAlign = u16(b, 12);
  const bitsPerSample = u16(b, 14);
  let tag = formatTag;
  let validBits = bitsPerSample;
  const extensible = formatTag === 0xfffe;
  if (extensible) {
    if (declaredSize < 40 || b.length < 40) {
      throw new WavFormatError(`${where}: WAVE_FORMAT_EXTENSIBLE fmt chunk is ${Math.min(declaredSize, b.length)} bytes, needs 40`);
    }
    validBits = u16(b, 18) || bitsPerSample;
    tag = u16(b, 24);
    for (let i = 0; i < KS_GUID_TAIL.length; i++) {
      if (b[26 + i] !== KS_GUID_TAIL[i]) {
        throw new WavFormatError(`${where}: WAVE_FORMAT_EXTENSIBLE sub-format GUID is not a standard audio sub-format; convert the file to PCM WAV (e.g. \`sox in.wav -e signed -b 16 out.wav\`)`);
      }
    }
  }
  if (channels === 0) throw new WavFormatError(`${where}: header declares zero channels`);
  if (channels > MAX_CHANNELS) throw new WavFormatError(`${where}: header declares ${channels} channels; at most ${MAX_CHANNELS} are supported`);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new WavFormatError(
      `${where}: header declares a sample rate of ${sampleRate} Hz, outside the supported ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz ` +
        '(corrupt header, or resample the audio first)',
    );
  }
  let format: WavEncoding;
  if (tag === 1) {
    if (bitsPerSample < 1 || bitsPerSample > 32) {
      throw new WavFormatError(`${where}: integer PCM with ${bitsPerSample} bits per sample is not supported (1..32)`);
    }
    format = 'pcm';
  } else if (tag === 3) {
    if (bitsPerSample !== 32 && bitsPerSample !== 64) {
      throw new WavFormatError(`${where}: IEEE float with ${bitsPerSample} bits per sample is not supported (32 or 64)`);
    }
    format = 'float';
  } else if (tag === 6 || tag === 7) {
    if (bitsPerSample !== 8) throw new WavFormatError(`${where}: ${tag === 6 ? 'A-law' : 'mu-law'} needs 8 bits per sample, header says ${bitsPerSample}`);
    format = tag === 6 ? 'alaw' : 'mulaw';
  } else {
    const name = OTHER_TAGS[tag] ?? `format tag 0x${tag.toString(16).padStart(4, '0')}`;
    throw new WavFormatError(`${where}: ${name} encoding is not supported; convert to PCM WAV (e.g. \`sox in.wav -e signed -b 16 out.wav\`)`);
  }
  const bytesPerSample = Math.ceil(bitsPerSample / 8);
  if (blockAlign !== channels * bytesPerSample) {
    throw new WavFormatError(
      `${where}: block align ${blockAlign} does not match ${channels} channel(s) x ${bytesPerSample} byte(s); the header is inconsistent`,
    );
  }
  return { format, formatTag, extensible, channels, sampleRate, bitsPerSample: bytesPerSample * 8, validBitsPerSample: Math.min(validBits, bytesPerSample * 8), blockAlign };
}

function parseHeader(src: ByteSource, where: string): WavInfo {
  return walkHeader(src, where, false)!;
}

/**
 * The most a WAV stream may hold before its samples (a LIST, JUNK or cover-art chunk is waited for and
 * kept until the data chunk comes): more is a corrupt or crafted header, not one to wait for.
 */
export const MAX_STREAM_HEADER_BYTES = 64 << 20;

/**
 * The header of a WAV file (`stream` false: all of it in `src`), or of a WAV stream's first bytes
 * (`stream` true: `src` is what has arrived; null while the bytes before the samples are still to
 * come). A stream's data chunk runs to the end of the stream unless it declares less: writers that
 * cannot seek back (arecord, sox or ffmpeg into a pipe) leave its size 0 or near 2^32.
 */
function walkHeader(src: ByteSource, where: string, stream: boolean): WavInfo | null {
  if (src.size === 0) {
    if (stream) return null;
    throw new WavFormatError(`${where}: file is empty (0 bytes)`);
  }
  const head = src.read(0, 12);
  if (stream && head.length < 12) return null;
  const magic = fourCC(head);
  if (magic !== 'RIFF') {
    if (head.length < 4) throw new WavFormatError(`${where}: truncated header (${src.size} bytes); a WAV file starts with a 12-byte RIFF header`);
    if (magic === 'RIFX') throw new WavFormatError(`${where}: big-endian WAV (RIFX) is not supported; convert with \`sox in.wav -L out.wav\``);
    if (magic === 'RF64' || magic === 'BW64') throw new WavFormatError(`${where}: ${magic} (64-bit WAV) is not supported; split or convert it to a standard WAV`);
    const audio = sniffOtherFormat(head);
    const notAudio = audio ? null : sniffNotAudio(head);
    throw new WavFormatError(
      audio
        ? `${where}: not a WAV file (looks like ${audio}); convert it to WAV, e.g. \`ffmpeg -i in out.wav\` (sox reads MP3 only with libsox-fmt-mp3)`
        : notAudio
          ? `${where}: not a WAV file (looks like ${notAudio}, not audio)`
          : `${where}: not a WAV file (starts with ${JSON.stringify(magic)} instead of "RIFF"); if it is audio of another format, convert it to WAV, e.g. \`ffmpeg -i in out.wav\``,
    );
  }
  if (head.length < 12) throw new WavFormatError(`${where}: truncated header (${src.size} bytes); a WAV file starts with a 12-byte RIFF header`);
  if (fourCC(head, 8) !== 'WAVE') throw new WavFormatError(`${where}: RIFF file of type ${JSON.stringify(fourCC(head, 8))}, not WAVE`);

  let fmt: FmtChunk | null = null;
  let pos = 12;
  for (let n = 0; ; n++) {
    if (n >= MAX_CHUNKS) throw new WavFormatError(`${where}: more than ${MAX_CHUNKS} chunks before the data chunk; the file is corrupt or crafted`);
    const ch = src.read(pos, 8);
    if (ch.length < 8) {
      if (stream) return null;
      if (!fmt) throw new WavFormatError(`${where}: truncated: no fmt chunk found in ${src.size} bytes`);
      throw new WavFormatError(`${where}: truncated: no data chunk found in ${src.size} bytes`);
    }
    const id = fourCC(ch);
    const size = u32(ch, 4);
    const body = pos + 8;
    const remaining = src.size - body;
    if (id === 'data') {
      if (!fmt) throw new WavFormatError(`${where}: data chunk comes before the fmt chunk; the file is corrupt`);
      if (stream) {
        const open = isOpenEndedSize(size);
        const dataBytes = open ? Number.MAX_SAFE_INTEGER - (Number.MAX_SAFE_INTEGER % fmt.blockAlign) : size - (size % fmt.blockAlign);
        if (dataBytes === 0) throw new AudioInputError(`${where}: the WAV data chunk declares ${size} bytes, less than one sample frame; the stream has no audio`);
        const frames = dataBytes / fmt.blockAlign;
        return { ...fmt, dataOffset: body, dataBytes, declaredDataBytes: size, truncated: false, frames, durationSec: frames / fmt.sampleRate };
      }
      // Size 0 with samples after it: a streaming writer's header never finalized (as on a stream): the samples run to the end.
      const present = size === 0 ? remaining : Math.min(size, remaining);
      const dataBytes = present - (present % fmt.blockAlign);
      if (dataBytes === 0) {
        throw new AudioInputError(`${where}: the WAV data chunk holds no complete sample frame (declared ${size} bytes, ${remaining} present); the file has no audio`);
      }
      const frames = dataBytes / fmt.blockAlign;
      // A placeholder size left by a writer that could not seek back (0, or near 2^32) is no promise: not "truncated".
      return { ...fmt, dataOffset: body, dataBytes, declaredDataBytes: size, truncated: size > remaining && !isOpenEndedSize(size), frames, durationSec: frames / fmt.sampleRate };
    }
    if (size > remaining) {
      if (stream) {
        if (body + size <= MAX_STREAM_HEADER_BYTES) return null;
        throw new WavFormatError(`${where}: chunk ${JSON.stringify(id)} at byte ${pos} declares ${size} bytes: more than the ${MAX_STREAM_HEADER_BYTES >> 20} MiB a WAV stream may hold before its samples`);
      }
      throw new WavFormatError(
        `${where}: chunk ${JSON.stringify(id)} at byte ${pos} declares ${size} bytes but only ${Math.max(0, remaining)} remain (lying chunk size or truncated file)`,
      );
    }
    if (id === 'fmt ') {
      if (fmt) throw new WavFormatError(`${where}: more than one fmt chunk`);
      fmt = parseFmt(src.read(body, Math.min(size, 40)), size, where);
    }
    let next = body + size;
    // RIFF pads odd-sized chunks to an even length, but some writers forget the pad byte: follow
    // the padding unless only the unpadded offset lands on a plausible chunk id.
    if (size & 1) {
      if (stream && src.size < next + 5) return null;
      const padded = src.read(next + 1, 4);
      const unpadded = src.read(next, 4);
      const paddedOk = isChunkId(padded);
      const unpaddedOk = isChunkId(unpadded);
      next += paddedOk || !unpaddedOk ? 1 : 0;
    }
    pos = next;
  }
}

// G.711 decoders as 256-entry tables (ITU-T G.711 expansion to 16-bit linear, then / 32768).
const MULAW = new Float32Array(256);
const ALAW = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const exp = (u >> 4) & 7;
  const mag = (((u & 0x0f) << 3) + 0x84) << exp;
  MULAW[i] = ((u & 0x80 ? 0x84 - mag : mag - 0x84)) / 32768;
  const a = i ^ 0x55;
  const aexp = (a & 0x70) >> 4;
  const amant = a & 0x0f;
  const t = aexp === 0 ? (amant << 4) + 8 : ((amant << 4) + 0x108) << (aexp - 1);
  ALAW[i] = (a & 0x80 ? t : -t) / 32768;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function unusableFloat(where: string, frame: number, channel: number, v: number): AudioInputError {
  const beyond = Number.isFinite(v) ? `, far beyond full scale (${FLOAT_LIMIT_NOTE})` : '';
  return new AudioInputError(`${where}: float sample ${frame} (channel ${channel}) is ${v}${beyond}; the audio is corrupt, or its floats are not scaled to ±1`);
}

/**
 * Decodes whole frames from `bytes` (which must start on a frame boundary) into `out` at
 * `outOffset`, averaging channels. Float NaN/Inf or beyond ±MAX_FLOAT_SAMPLE -> AudioInputError; float
 * peaks over full scale clamped to [-1, 1].
 * 16-bit PCM and 32-bit float (the common cases) read through typed-array views when aligned.
 */
function decodeFrames(bytes: Uint8Array, info: WavInfo, out: Float32Array, outOffset: number, firstFrame: number, where: string): number {
  const { channels, blockAlign } = info;
  const frames = Math.floor(bytes.length / blockAlign);
  const n = frames * channels;
  const inv = 1 / channels;
  const bps = info.bitsPerSample >> 3;
  if (info.format === 'pcm' && bps === 2 && LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    const s = new Int16Array(bytes.buffer, bytes.byteOffset, n);
    if (channels === 1) {
      for (let i = 0; i < frames; i++) out[outOffset + i] = s[i] / 32768;
    } else {
      for (let f = 0, p = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += s[p++] / 32768;
        out[outOffset + f] = sum * inv;
      }
    }
    return frames;
  }
  if (info.format === 'float' && bps === 4 && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    const s = new Float32Array(bytes.buffer, bytes.byteOffset, n);
    for (let f = 0, p = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) {
        let v = s[p++];
        // isUsableFloat, written out: a call here cost this loop ~10% (a 5-minute stereo 48 kHz float file).
        if (!(v >= -MAX_FLOAT_SAMPLE && v <= MAX_FLOAT_SAMPLE)) throw unusableFloat(where, firstFrame + f, c, v);
        if (v > 1) v = 1;
        else if (v < -1) v = -1;
        sum += v;
      }
      out[outOffset + f] = channels === 1 ? sum : sum * inv;
    }
    return frames;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 0: u8, 1: s16, 2: s24, 3: s32, 4: f32, 5: f64, 6: A-law, 7: mu-law
  const kind =
    info.format === 'pcm' ? [0, 0, 1, 2, 3][bps] : info.format === 'float' ? (bps === 4 ? 4 : 5) : info.format === 'alaw' ? 6 : 7;
  let p = 0;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, p += bps) {
      let v: number;
      switch (kind) {
        case 0:
          v = (bytes[p] - 128) / 128;
          break;
        case 1:
          v = view.getInt16(p, true) / 32768;
          break;
        case 2:
          v = (((bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16)) << 8) >> 8) / 8388608;
          break;
        case 3:
          v = view.getInt32(p, true) / 2147483648;
          break;
        case 6:
          v = ALAW[bytes[p]];
          break;
        case 7:
          v = MULAW[bytes[p]];
          break;
        default:
          v = kind === 4 ? view.getFloat32(p, true) : view.getFloat64(p, true);
          if (!(v >= -MAX_FLOAT_SAMPLE && v <= MAX_FLOAT_SAMPLE)) throw unusableFloat(where, firstFrame + f, c, v);
          if (v > 1) v = 1;
          else if (v < -1) v = -1;
      }
      sum += v;
    }
    out[outOffset + f] = channels === 1 ? sum : sum * inv;
  }
  return frames;
}

function checkDuration(info: WavInfo, options: DecodeOptions, where: string): void {
  const max = options.maxDurationSec ?? DEFAULT_MAX_DURATION_SEC;
  if (info.durationSec > max) {
    throw new AudioInputError(
      `${where}: audio is ${info.durationSec.toFixed(1)} s long, over the ${max} s limit for whole-file decoding; ` +
        'long recordings are for the streaming listener (digits listen --input FILE, or streamWavFile)',
    );
  }
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (info.frames > maxFrames) {
    throw new AudioInputError(
      `${where}: audio has ${info.frames} samples per channel (${info.durationSec.toFixed(1)} s at ${info.sampleRate} Hz), over the ` +
        `${maxFrames}-sample limit for whole-file decoding; long recordings are for the streaming listener (digits listen --input FILE, or streamWavFile)`,
    );
  }
}

function toResult(info: WavInfo, samples: Float32Array): DecodedAudio {
  return {
    samples,
    sampleRate: info.sampleRate,
    channels: info.channels,
    bitsPerSample: info.bitsPerSample,
    format: info.format,
    durationSec: info.durationSec,
    truncated: info.truncated,
  };
}

function asBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new AudioInputError('WAV input must be a Buffer, Uint8Array or ArrayBuffer');
}

/**
 * The header of a WAV arriving as a stream (a pipe, a socket), from its first bytes: null until the
 * bytes before its samples have all arrived; typed errors as for a file. The samples start at
 * `dataOffset`; `dataBytes` is what the data chunk declares, or Number.MAX_SAFE_INTEGER (to the end of
 * the stream) where a writer that cannot seek left it 0 or near 2^32. Decode them with decodeWavFrames.
 */
export function readWavStreamHeader(prefix: Uint8Array, name = 'WAV stream'): WavInfo | null {
  return walkHeader(bufferSource(prefix), name, true);
}

/**
 * Mono samples in [-1, 1] from whole frames of a WAV's sample data (`bytes` starts on a frame;
 * a partial frame at its end is not decoded). `firstFrame` numbers the frames in error messages.
 */
export function decodeWavFrames(bytes: Uint8Array, info: WavInfo, firstFrame = 0, name = 'WAV stream'): Float32Array {
  const out = new Float32Array(Math.floor(bytes.length / info.blockAlign));
  decodeFrames(bytes, info, out, 0, firstFrame, name);
  return out;
}

/** Parses only the header of an in-memory WAV. */
export function readWavInfo(input: Uint8Array | ArrayBuffer): WavInfo {
  return parseHeader(bufferSource(asBytes(input)), 'WAV');
}

/** Decodes an in-memory WAV file into mono Float32 samples in [-1, 1]. */
export function decodeWav(input: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DecodedAudio {
  const bytes = asBytes(input);
  const where = options.name ?? 'WAV';
  const info = parseHeader(bufferSource(bytes), where);
  checkDuration(info, options, where);
  const out = new Float32Array(info.frames);
  decodeFrames(bytes.subarray(info.dataOffset, info.dataOffset + info.dataBytes), info, out, 0, 0, where);
  return toResult(info, out);
}

const NOT_A_FILE_HINT = 'give a file\'s path, or read it as a stream (`digits predict -` and `digits listen --input -` read stdin; openReadableSource)';

function openFile(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    // Non-blocking: a named pipe with no writer would otherwise block here for ever (it is refused below).
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    // ENXIO: a socket (e.g. /dev/stdin when a parent process's socket pair is stdin), which no path opens, or a device with nothing behind it.
    throw new AudioInputError(`${path}: ${fsReason(err, { ENOENT: 'no such file', EISDIR: 'is a directory, not a WAV file', ENXIO: `is a socket or an absent device, not a regular file; ${NOT_A_FILE_HINT}` })}`, { cause: err });
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    if (st.isDirectory()) throw new AudioInputError(`${path}: is a directory, not a WAV file`);
    // Not "not a WAV": what flows through a pipe may well be one, read another way (`digits predict -` reads stdin).
    const what = st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a file';
    throw new AudioInputError(`${path}: is ${what}, not a regular file; ${NOT_A_FILE_HINT}`);
  }
  return { fd, size: st.size };
}

/** Reads at most this many bytes per read, so decoding a file needs its output plus ~1 MB. */
const READ_CHUNK = 1 << 20;

/** Parses only the header of a WAV file (reads a few hundred bytes, whatever the file size). */
export function readWavFileInfo(path: string): WavInfo {
  const { fd, size } = openFile(path);
  try {
    return parseHeader(fdSource(fd, size), path);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Decodes a WAV file into mono Float32 samples. Refuses files over maxDurationSec before reading
 * their samples; reads in 1 MB pieces, never the whole file at once.
 */
export function readWavFileSync(path: string, options: DecodeOptions = {}): DecodedAudio {
  const { fd, size } = openFile(path);
  try {
    const info = parseHeader(fdSource(fd, size), path);
    checkDuration(info, options, path);
    const out = new Float32Array(info.frames);
    const chunkBytes = Math.max(info.blockAlign, READ_CHUNK - (READ_CHUNK % info.blockAlign));
    const buf = Buffer.alloc(Math.min(chunkBytes, info.dataBytes));
    let frame = 0;
    for (let off = 0; off < info.dataBytes; ) {
      const want = Math.min(buf.length, info.dataBytes - off);
      const got = readFully(fd, buf, want, info.dataOffset + off);
      if (got < want) throw new WavFormatError(`${path}: file shrank while being read`);
      frame += decodeFrames(buf.subarray(0, got), info, out, frame, frame, path);
      off += got;
    }
    return toResult(info, out);
  } finally {
    fs.closeSync(fd);
  }
}

function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const r = fs.readSync(fd, buf, got, length - got, position + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

/** A WAV from a file path or from bytes in memory: one entry point for callers that accept both. */
export function readWav(input: string | Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DecodedAudio {
  return typeof input === 'string' ? readWavFileSync(input, options) : decodeWav(input, options);
}

/** Async form of readWavFileSync. */
export async function readWavFile(path: string, options: DecodeOptions = {}): Promise<DecodedAudio> {
  return readWavFileSync(path, options);
}

export interface StreamOptions {
  /** Mono frames per yielded block (at the file's own rate). Default 8192. */
  blockFrames?: number;
}

export interface WavStream extends AsyncIterable<Float32Array> {
  readonly info: WavInfo;
  readonly path: string;
  /** Closes the file; iteration also closes it when it ends or the loop breaks. */
  close(): Promise<void>;
}

/**
 * Opens a WAV file for block-wise reading: the header is parsed now (typed errors are thrown
 * here), samples are read and decoded block by block, so memory stays flat for hour-long files.
 */
export async function openWavStream(path: string, options: StreamOptions = {}): Promise<WavStream> {
  const blockFrames = options.blockFrames ?? 8192;
  if (!Number.isInteger(blockFrames) || blockFrames < 1 || blockFrames > 1 << 24) {
    throw new AudioInputError(`blockFrames must be a whole number in 1..${1 << 24}, got ${String(blockFrames)}`);
  }
  const { fd, size } = openFile(path);
  let info: WavInfo;
  try {
    info = parseHeader(fdSource(fd, size), path);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  let closed = false;
  // A read still in flight when close() is called (a listener stopped mid-file) must finish
  // before the descriptor goes: closing under it fails the read with EBADF, or worse, reads from
  // whatever file reuses the number.
  let reading: Promise<number> | null = null;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await reading?.catch(() => 0);
    fs.closeSync(fd);
  };
  const bytesPerBlock = blockFrames * info.blockAlign;
  async function* blocks(): AsyncGenerator<Float32Array> {
    const buf = Buffer.alloc(Math.min(bytesPerBlock, info.dataBytes));
    try {
      let frame = 0;
      for (let off = 0; off < info.dataBytes && !closed; ) {
        const want = Math.min(buf.length, info.dataBytes - off);
        reading = new Promise<number>((resolve, reject) =>
          fs.read(fd, buf, 0, want, info.dataOffset + off, (err, n) => (err ? reject(err) : resolve(n))),
        );
        const got = await reading;
        reading = null;
        if (closed) break;
        const whole = got - (got % info.blockAlign);
        if (whole === 0) break; // file shrank under us: end the stream with what was there
        const out = new Float32Array(whole / info.blockAlign);
        decodeFrames(buf.subarray(0, whole), info, out, 0, frame, path);
        frame += out.length;
        off += whole;
        yield out;
      }
    } finally {
      await close();
    }
  }
  return { info, path, close, [Symbol.asyncIterator]: blocks };
}

export interface WavBlock {
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
  /** Index of the block's first frame in the file. */
  startFrame: number;
  sampleRate: number;
}

/** `for await (const block of streamWavFile(path))` — the header errors surface on the first step. */
export async function* streamWavFile(path: string, options: StreamOptions = {}): AsyncGenerator<WavBlock> {
  const stream = await openWavStream(path, options);
  let startFrame = 0;
  for await (const samples of stream) {
    yield { samples, startFrame, sampleRate: stream.info.sampleRate };
    startFrame += samples.length;
  }
}
