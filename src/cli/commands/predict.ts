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
 * The WAV on stdin (`digits predict -`). Read only as far as one clip goes: its header is checked as
 * it arrives (so text or another format is refused at its first bytes, not after a gigabyte); its
 * samples are kept up to the data chunk's end, what follows them (LIST, cue, cover art) is read and
 * dropped, up to MAX_STREAM_HEADER_BYTES; and a stream with more than `maxSeconds` of samples (an
 * open-ended one, as a writer that cannot seek leaves its header) is refused as soon as it has them.
 */
async function readStdin(maxSeconds: number): Promise<{ bytes: Uint8Array; anotherWav: boolean }> {
  if (process.stdin.isTTY) throw new AudioInputError('-: stdin is a terminal; pipe a WAV file into it (e.g. sox in.flac -t wav - | digits predict -)');
  let parts: Buffer[] = [];
  let kept = 0;
  let header: WavInfo | null = null;
  /** Where the kept bytes end: the header's end while it is read, then the samples' end. */
  let keepTo = MAX_STREAM_HEADER_BYTES;
  let dropped = 0;
  /** The most sample bytes one clip may have (known with the header). */
  let most = Infinity;
  /** Where the first WAV's samples end (its pad byte included), and the first bytes from there on. */
  let dataEnd = Infinity;
  let following = Buffer.alloc(0);
  const follow = (chunk: Buffer, at: number) => {
    if (following.length < 4 && at + chunk.length > dataEnd) following = Buffer.concat([following, chunk.subarray(Math.max(0, dataEnd - at), Math.max(0, dataEnd - at) + 4 - following.length)]);
  };
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    if (kept >= keepTo) {
      // After the samples: chunks a writer appends, read so that it is not cut off, and dropped.
      follow(chunk, kept + dropped);
      dropped += chunk.length;
      if (dropped > MAX_STREAM_HEADER_BYTES) break;
      continue;
    }
    parts.push(chunk);
    kept += chunk.length;
    if (header === null) {
      // Gathered into one buffer while the header is incomplete (a few chunks at most).
      if (parts.length > 1) parts = [Buffer.concat(parts)];
      header = readWavStreamHeader(parts[0], '-');
      if (header !== null) {
        most = Math.ceil(maxSeconds * header.sampleRate) * header.blockAlign;
        // One frame past the limit tells a stream that is too long from one that is just long enough.
        keepTo = header.dataOffset + Math.min(header.dataBytes, most + header.blockAlign);
        dataEnd = header.dataOffset + header.dataBytes + (header.dataBytes % 2);
        follow(parts[0], 0);
      }
    } else {
      follow(chunk, kept - chunk.length);
    }
    const tooLong = header !== null && Math.min(kept - header.dataOffset, header.dataBytes) > most;
    if (tooLong || (header === null && kept >= keepTo)) {
      process.stdin.destroy();
      throw new AudioInputError(
        header === null
          ? `-: no audio data in the first ${MAX_STREAM_HEADER_BYTES >> 20} MiB of stdin: not a WAV clip`
          : `-: the WAV on stdin is longer than the ${maxSeconds} s limit for one clip; long recordings are for the streaming listener (digits listen --input -)`,
      );
    }
  }
  process.stdin.destroy();
  if (kept === 0) throw new AudioInputError('-: stdin closed without sending any audio');
  return { bytes: parts.length === 1 ? parts[0] : Buffer.concat(parts), anotherWav: following.toString('latin1') === 'RIFF' };
}
