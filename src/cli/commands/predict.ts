import { InvalidArgumentError, type Command } from 'commander';
import { colors, ms, percent, printJson, renderTable, shown } from '../output.js';
import { parseBackend, parsePositiveInt, parseThreshold } from '../options.js';
import { AudioInputError, SpokenDigitsError } from '../../errors.js';
import { modelWindowMs } from '../../features/config.js';
import { decodeWav, MAX_STREAM_HEADER_BYTES, readWavStreamHeader, type WavInfo } from '../../audio/wav.js';
import { clippedNote } from '../../audio/pcm.js';

export function register(program: Command): void {
  program
    .command('predict')
    .description('recognize the digit spoken in each WAV file')
    .argument('<files...>', 'WAV files (any common rate, bit depth, mono or stereo); "-" reads one from stdin')
    .option('-m, --model <file>', 'ONNX model file, or a shipped model by name: default, small (default: default)')
    .option('--backend <name>', 'feature backend: auto | native | wasm', 'auto')
    .option('--threshold <p>', "confidence below which the answer is 'no digit' (default: the model's calibrated value)")
    .option('--top <k>', 'also show the k most probable labels', '0')
    .option('--json', 'print one JSON object')
    .action(async (files: string[], opts) => {
      const { DigitRecognizer, DEFAULT_MAX_CLIP_SEC } = await import('../../model/recognizer.js');
      const { topLabels, REJECTED_WHY } = await import('../../model/decision.js');
      const recognizer = await DigitRecognizer.load({ model: opts.model, backend: parseBackend(opts.backend), threshold: parseThreshold(opts.threshold) });
      // More sound than the model hears at once is often several words (4 of FSDD's 3,000 single digits are longer too).
      const windowMs = modelWindowMs(recognizer.info.featureConfig);
      const manyWords = (file: string, speechMs: number) =>
        `digits predict: ${file === '-' ? 'stdin' : shown(file)} holds ${(speechMs / 1000).toFixed(2)} s of sound, longer than a digit usually takes (the model hears ${(windowMs / 1000).toFixed(2)} s of it): if it holds several digits, ${file === '-' ? 'piped to `digits listen --input -`' : `\`digits listen --input ${shown(shellQuoted(file))}\``} reads them one by one\n`;
      // More than the model has labels shows them all.
      const top = opts.top === '0' ? 0 : Math.min(parsePositiveInt('--top', opts.top), recognizer.info.labels.length);
      if (files.filter((f) => f === '-').length > 1) throw new InvalidArgumentError('"-" (stdin) may be given once: it holds one WAV');
      const results = [];
      let failed = 0;
      for (const file of files) {
        const started = performance.now();
        try {
          // stdin's WAV decoded here, so that its errors name it ("-: ...").
          const stdin = file === '-' ? await readStdin(DEFAULT_MAX_CLIP_SEC) : undefined;
          const piped = stdin && decodeWav(stdin.bytes, { name: '-', maxDurationSec: DEFAULT_MAX_CLIP_SEC });
          if (stdin?.anotherWav) process.stderr.write('digits predict: stdin holds another WAV after the first: only the first was read (`digits listen --input -` reads one after another)\n');
          const p = await recognizer.predict(piped ? { samples: piped.samples, sampleRate: piped.sampleRate } : file);
          results.push({
            file,
            digit: p.digit,
            isDigit: p.isDigit,
            confidence: p.confidence,
            candidate: p.candidate,
            rejectedBy: p.rejectedBy,
            ...(top > 0 ? { top: topLabels(p.probabilities, p.labels, top) } : {}),
            timeMs: performance.now() - started,
            timings: p.timings,
            ...(p.truncated || piped?.truncated ? { truncated: true } : {}),
            ...(p.clipped !== undefined ? { clipped: p.clipped } : {}),
            ...(p.speechMs != null ? { speechMs: p.speechMs } : {}),
          });
          if (p.clipped !== undefined) process.stderr.write(`digits predict: ${file === '-' ? 'stdin' : shown(file)} is ${clippedNote(p.clipped)}; its answer may be wrong\n`);
          if (p.speechMs != null && p.speechMs > windowMs) process.stderr.write(manyWords(file, p.speechMs));
        } catch (err) {
          failed++;
          results.push({ file, error: (err as Error).message, ...(err instanceof SpokenDigitsError ? { code: err.code } : {}) });
        }
      }
      if (opts.json) {
        printJson({ model: recognizer.source, backend: recognizer.backend.name, results });
      } else {
        const rows = results.map((r) =>
          'error' in r
            ? [shown(r.file), colors.red('error'), '-', shown(r.error ?? '')]
            : [r.truncated ? `${shown(r.file)} ${colors.yellow('(truncated file)')}` : shown(r.file), r.isDigit ? colors.green(String(r.digit)) : colors.yellow(`no digit (${REJECTED_WHY[(r.rejectedBy ?? 'threshold') as keyof typeof REJECTED_WHY]})`), percent(r.confidence), ms(r.timeMs!), ...(top > 0 ? [r.top!.map((t) => `${t.label}:${percent(t.probability, 0)}`).join(' ')] : [])],
        );
        console.log(renderTable(['file', 'digit', 'confidence', 'time', ...(top > 0 ? [`top ${top}`] : [])], rows));
      }
      await recognizer.dispose();
      if (failed > 0) process.exitCode = 2;
    });
}

/** `file` as a shell word: as it is when it needs no quoting, else in single quotes. */
function shellQuoted(file: string): string {
  return /^[\w./@%+=:,-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
}

/**
 * The WAV on stdin (`digits predict -`). Read only as far as one clip goes (FirstWavClip), then let go.
 */
async function readStdin(maxSeconds: number): Promise<{ bytes: Uint8Array; anotherWav: boolean }> {
  if (process.stdin.isTTY) throw new AudioInputError('-: stdin is a terminal; pipe a WAV file into it (e.g. sox in.flac -t wav - | digits predict -)');
  const clip = new FirstWavClip(maxSeconds);
  try {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) if (!clip.take(chunk)) break;
  } finally {
    process.stdin.destroy();
  }
  return clip.result();
}

/**
 * The first WAV clip of a byte stream, taken chunk by chunk. Its header is checked as it arrives (so
 * text or another format is refused at its first bytes, not after a gigabyte); its samples are kept
 * up to the data chunk's end; what follows them (LIST, cue, cover art) is taken and dropped, up to
 * MAX_STREAM_HEADER_BYTES, so that the writer is not cut off; and a stream with more than
 * `maxSeconds` of samples (an open-ended one, as a writer that cannot seek leaves its header) is
 * refused as soon as it has them.
 */
export class FirstWavClip {
  private parts: Buffer[] = [];
  private kept = 0;
  private received = 0;
  private header: WavInfo | null = null;
  /** The first bytes (up to 4) from where the clip's samples end: "RIFF" when another WAV follows. */
  private following = Buffer.alloc(0);

  constructor(private readonly maxSeconds: number) {}

  /** The most sample bytes the clip may have (Infinity until the header is known). */
  private get most(): number {
    const h = this.header;
    return h ? Math.ceil(this.maxSeconds * h.sampleRate) * h.blockAlign : Infinity;
  }

  /** Where the kept bytes end: the header's end while it is read, then the samples' end (one frame past the limit tells a stream that is too long from one just long enough). */
  private get keepTo(): number {
    const h = this.header;
    return h ? h.dataOffset + Math.min(h.dataBytes, this.most + h.blockAlign) : MAX_STREAM_HEADER_BYTES;
  }

  /** Takes the next chunk; false once nothing more is needed. Throws an AudioInputError when the stream is no clip. */
  take(chunk: Buffer): boolean {
    const at = this.received;
    this.received += chunk.length;
    if (this.kept >= this.keepTo) {
      // After the samples: read so that the writer is not cut off, and dropped.
      this.follow(chunk, at);
      return this.received - this.kept <= MAX_STREAM_HEADER_BYTES;
    }
    this.parts.push(chunk);
    this.kept += chunk.length;
    if (this.header === null) {
      // Gathered into one buffer while the header is incomplete (a few chunks at most).
      if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts)];
      this.header = readWavStreamHeader(this.parts[0], '-');
      if (this.header === null) {
        if (this.kept >= MAX_STREAM_HEADER_BYTES) throw new AudioInputError(`-: no audio data in the first ${MAX_STREAM_HEADER_BYTES >> 20} MiB of stdin: not a WAV clip`);
        return true;
      }
      this.follow(this.parts[0], 0);
    } else {
      this.follow(chunk, at);
    }
    const h = this.header;
    if (Math.min(this.kept - h.dataOffset, h.dataBytes) > this.most) {
      throw new AudioInputError(`-: the WAV on stdin is longer than the ${this.maxSeconds} s limit for one clip; long recordings are for the streaming listener (digits listen --input -)`);
    }
    return true;
  }

  /** The clip's bytes (header and samples), and whether another WAV followed it. */
  result(): { bytes: Uint8Array; anotherWav: boolean } {
    if (this.kept === 0) throw new AudioInputError('-: stdin closed without sending any audio');
    return { bytes: this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts), anotherWav: this.following.toString('latin1') === 'RIFF' };
  }

  /** Keeps the bytes of `chunk` (at stream position `at`) that are among the first 4 after the clip's data chunk (its pad byte included). */
  private follow(chunk: Buffer, at: number): void {
    const h = this.header;
    if (!h || this.following.length >= 4) return;
    // The data chunk as declared: a stray byte after its last whole frame is still its own.
    const from = h.dataOffset + h.declaredDataBytes + (h.declaredDataBytes % 2) - at;
    if (from >= chunk.length) return;
    this.following = Buffer.concat([this.following, chunk.subarray(Math.max(0, from), Math.max(0, from) + 4 - this.following.length)]);
  }
}
