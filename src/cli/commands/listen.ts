import { fstatSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { AudioInputError, SpokenDigitsError } from '../../errors.js';
import { CLIPPED_NOTE_SHARE } from '../../audio/pcm.js';
import { colors as pc, stderrColors } from '../output.js';
import { addMicrophoneOptions, parseMicrophoneOptions, parseNumberIn, refuseGiven } from '../options.js';

interface ListenOptions {
  input?: string;
  rate?: string;
  encoding?: string;
  channels?: string;
  realtime?: boolean;
  json?: boolean;
  device?: string;
  captureRate?: string;
  threshold?: string;
  sensitivity?: string;
  stringPause?: string;
  model?: string;
  listDevices?: boolean;
  duration?: string;
  captureLatency?: string;
  split?: boolean;
  adaptVoice?: boolean;
  adaptNorm?: boolean;
  selfEnroll?: boolean;
}

/** "▮▮▮▮▮▯▯▯▯▯" for -60..0 dBFS. */
function meter(db: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(((db + 60) / 60) * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

export function register(program: Command): void {
  addMicrophoneOptions(program.command('listen'))
    .description('recognize digits live from the microphone (or a file / stdin) as they are spoken')
    .option('--input <file|->', 'stream a WAV file, or stdin with "-" (raw PCM needs --rate; a WAV on stdin is detected)')
    .option('--rate <hz>', 'sample rate of raw PCM on stdin')
    .option('--encoding <enc>', 'raw PCM encoding on stdin: s16le or f32le', 's16le')
    .option('--channels <n>', 'interleaved channels of raw PCM on stdin', '1')
    .option('--realtime', 'play --input FILE at real-time pace instead of as fast as possible')
    .option('--json', 'print one JSON event per line (NDJSON) instead of the live view')
    .option('--threshold <p>', 'minimum confidence for a digit (default: the model\'s calibrated threshold)')
    .option('--sensitivity <s>', 'voice detection sensitivity 0..1 (higher = quieter speech opens a segment)', '0.5')
    .option('--string-pause <ms>', 'silence that closes a digit string', '1000')
    .option('-m, --model <file>', 'ONNX model file, or a shipped model by name: default, small (default: default)')
    .option('--duration <s>', 'stop after this many seconds of audio')
    .option('--no-split', 'do not split segments that hold several digits')
    .option('--no-adapt-voice', "do not adapt to the speaker's voice (by default a voice shift is learnt from the digits heard, no labels: fewer errors on voices the model never heard)")
    .option('--adapt-voice', "adapt to the speaker's voice (the default, except with a personal model made by digits enroll)")
    .option('--no-adapt-norm', "do not adapt the model's normalization to the speaker (by default it is adapted every 10 digits heard, on the last 200 (50 with --no-self-enroll), no labels, while most speech heard lately is digits: far fewer errors on voices the model never heard)")
    .option('--adapt-norm', "adapt the model's normalization to the speaker (the default, except with a personal model made by digits enroll or a model without normalization targets)")
    .option('--no-self-enroll', "with the normalization adaptation, do not refit the model's last layers (by default they are refitted on the last 200 digits, each labelled with the digit it heard, no labels from you, once every digit was heard: fewer errors on a new voice; about 1-3 s per adaptation, in a worker process of its own for live audio)")
    .option('--self-enroll', 'refit the last layers with each normalization adaptation (the default wherever the normalization is adapted)')
    .option('--list-devices', 'list capture devices and exit (with --json: one object, {backend, devices})')
    .action(async (opts: ListenOptions, command: Command) => {
      const stream = await import('../../stream/index.js');
      if (opts.listDevices) {
        const { backend, devices } = stream.listInputDevices();
        if (opts.json) {
          // One object, so that no devices is an answer too ({"devices": []}), not an empty output.
          process.stdout.write(`${JSON.stringify({ backend, devices })}\n`);
          return;
        }
        if (devices.length === 0) process.stdout.write(`no input devices (PortAudio via ${backend})\n`);
        for (const d of devices) {
          const rates = d.supportedRates.length ? ` rates ${d.supportedRates.join('/')}` : '';
          process.stdout.write(
            `${d.isDefault ? '*' : ' '} ${String(d.index).padStart(3)}  ${d.name}  (${d.hostApi}, ${d.maxInputChannels} ch, default ${d.defaultSampleRate} Hz${rates})\n`,
          );
        }
        return;
      }
      // An empty path (an unset shell variable, --input "$FILE") is a mistake, not a wish for the microphone.
      if (opts.input === '') throw new InvalidArgumentError('--input: the path is empty; give a WAV file, or "-" for stdin (without --input, the microphone)');
      if (opts.input !== '-') refuseGiven(command, ['rate', 'encoding', 'channels'], 'raw PCM on stdin (--input -); a WAV file says its own format');
      if (opts.input !== undefined) refuseGiven(command, ['device', 'captureRate', 'captureLatency'], 'the microphone, which --input replaces');
      if (opts.input === undefined || opts.input === '-') refuseGiven(command, ['realtime'], '--input FILE (the microphone and stdin come at their own pace)');
      const threshold = parseNumberIn(opts.threshold, '--threshold', 0, 1);
      const sensitivity = parseNumberIn(opts.sensitivity, '--sensitivity', 0, 1);
      const stringPauseMs = parseNumberIn(opts.stringPause, '--string-pause', 50, 60000);
      // Interrupted, the session still ends cleanly (the open string, the end event), and the exit code
      // says it was a signal (128 + its number), as a shell loop expects to see it. A signal that comes
      // before the session runs (stdin's first bytes awaited, the model loading) ends it as it starts.
      let stopSession: (() => void) | undefined;
      let interrupted = false;
      const onSignal = (code: number) => () => {
        process.exitCode = code;
        interrupted = true;
        if (stopSession) stopSession();
        // Still waiting for stdin's first bytes: none are coming that would be heard.
        else if (opts.input === '-') process.stdin.destroy();
      };
      process.once('SIGINT', onSignal(130));
      process.once('SIGTERM', onSignal(143));
      // null: interrupted before stdin's first bytes, an empty session.
      let source: import('../../stream/index.js').AudioSource | null;
      if (opts.input === '-') {
        // A terminal on stdin would be waited on for ever: nobody types PCM.
        if (process.stdin.isTTY) throw new AudioInputError('--input -: stdin is a terminal; pipe audio into it (e.g. arecord -f S16_LE -r 16000 | digits listen --input -) or give a file');
        const encoding = opts.encoding === 'f32le' ? 'f32le' : opts.encoding === 's16le' ? 's16le' : undefined;
        if (!encoding) throw new AudioInputError(`--encoding ${opts.encoding} must be s16le or f32le`);
        // Given on the command line, each must fit a WAV on stdin too; the defaults are for raw PCM only.
        const given = (name: string) => command.getOptionValueSource(name) === 'cli';
        const format: import('../../stream/index.js').RawPcmOptions = {
          sampleRate: parseNumberIn(opts.rate, '--rate', 4000, 384000),
          encoding: given('encoding') ? encoding : undefined,
          channels: given('channels') ? parseNumberIn(opts.channels, '--channels', 1, 32) : undefined,
        };
        source = await stream.openReadableSource(process.stdin, format, 'stdin').catch((err: unknown) => {
          if (interrupted) return null;
          throw err;
        });
      } else if (opts.input !== undefined) {
        source = await stream.openFileSource(opts.input, { realtime: Boolean(opts.realtime) });
      } else {
        source = await stream.openMicrophone(parseMicrophoneOptions(opts));
      }
      // A personal model (digits enroll) already hears its speaker at the shift it was enrolled at:
      // an adapter would start over from no shift, so the adapters run only when asked for. A model
      // without normalization targets cannot adapt its normalization: asked for, that is an error.
      const { DigitRecognizer } = await import('../../model/recognizer.js');
      const recognizer = await DigitRecognizer.load({ model: opts.model, threshold });
      const enrolled = recognizer.info.enrollment !== null;
      const adaptVoice = opts.adaptVoice !== false && !(enrolled && command.getOptionValueSource('adaptVoice') === 'default');
      const adaptNorm = opts.adaptNorm !== false && (command.getOptionValueSource('adaptNorm') !== 'default' || (!enrolled && recognizer.canAdaptNormalization));
      const selfEnroll = opts.selfEnroll !== false && adaptNorm;
      if (opts.selfEnroll && command.getOptionValueSource('selfEnroll') !== 'default' && !adaptNorm) throw new InvalidArgumentError('--self-enroll refits the model after each normalization adaptation, which is off here (--no-adapt-norm, a personal model, or a model without normalization targets)');
      const listener = await stream.Listener.create({
        recognizer,
        threshold,
        sensitivity,
        stringPauseMs,
        split: opts.split === false ? false : undefined,
        adaptVoice,
        adaptNorm: adaptNorm && (selfEnroll ? { selfEnroll: true } : true),
        levelIntervalMs: opts.json ? 250 : 50,
        // A pipe or a socket on stdin may be live (arecord): its audio must not wait for an adaptation, or
        // the writer overruns; or a file coming as fast as it can (ffmpeg -i f.mp3 |), which waits for
        // each, as --input FILE does, once it is clearly ahead of the clock ('auto'). A file redirected
        // in (< clip.wav) is read as fast as it comes.
        adaptInBackground: opts.input === '-' ? (stdinIsFile() ? false : 'auto') : undefined,
        maxDurationMs: opts.duration === undefined ? undefined : parseNumberIn(opts.duration, '--duration', 0.01, 1e7)! * 1000,
      });
      const session = async () => {
        // Interrupted before it runs: an empty session, none of what had arrived heard.
        if (!source || interrupted) {
          await source?.close();
          return listener.end();
        }
        const running = listener.run(source);
        stopSession = () => void listener.stop();
        return running;
      };
      // A closed stdout (| head) ends the session instead of crashing on EPIPE.
      process.stdout.on('error', () => stopSession?.());

      if (opts.json) {
        // stdout carries only events; a cut-off file is said on stderr, as the text view's banner says it.
        if (source?.truncated) process.stderr.write(`${stderrColors.yellow(`note: ${source.description}`)}\n`);
        const write = (e: object) => process.stdout.write(`${JSON.stringify(e)}\n`);
        for (const type of ['speechstart', 'speechend', 'digit', 'rejected', 'string', 'level', 'overflow', 'voiceshift', 'normadapt', 'end'] as const) {
          listener.on(type, (e: object) => write({ type, ...e }));
        }
        listener.on('normadaptfailed', ({ message, failures, stopped }) => write({ type: 'normadaptfailed', message, failures, stopped }));
        listener.on('error', (err: Error) => write({ type: 'error', ...(err instanceof SpokenDigitsError ? { code: err.code } : {}), message: err.message }));
        await session();
        return;
      }

      const tty = Boolean(process.stdout.isTTY);
      const out = process.stdout;
      let running = '';
      let state = 'listening';
      let level = -120;
      /** Until when (ms of audio) the meter says the input is too loud: a second after the last clipped interval. */
      let tooLoudUntil = -1;
      let heardMs = 0;
      const status = () => {
        if (!tty) return;
        // Short, so that the line stays within 80 columns (a wrapped line is not redrawn in place).
        const loud = heardMs < tooLoudUntil ? pc.red(' TOO LOUD') : '';
        const line = `${pc.dim(meter(level))} ${level > -100 ? `${level.toFixed(0).padStart(4)} dB` : '   - dB'}  ${state === 'speech' ? pc.yellow('speech   ') : pc.dim('listening')}  ${pc.bold(running)}${loud}`;
        out.write(`\r\x1b[2K${line}`);
      };
      const print = (text: string) => {
        if (tty) out.write('\r\x1b[2K');
        out.write(`${text}\n`);
        status();
      };
      // Diagnostics on stderr: stdout carries the digits, for whoever reads it.
      if (!interrupted) process.stderr.write(`${stderrColors.dim(`listening to ${source?.description} (Ctrl-C to stop)`)}\n`);
      listener.on('level', (e) => {
        level = e.levelDb;
        heardMs = e.timeMs;
        if (e.clipped >= CLIPPED_NOTE_SHARE) {
          // Said on the meter while it lasts; without one (stdout not a terminal), once on stderr.
          if (!tty && tooLoudUntil < 0) process.stderr.write(`${stderrColors.yellow(`note: the input is clipping at ${(e.timeMs / 1000).toFixed(1)} s (too loud: lower the input gain); what is said may be misheard`)}\n`);
          tooLoudUntil = e.timeMs + 1000;
        }
        state = e.speech ? 'speech' : 'listening';
        status();
      });
      listener.on('speechstart', () => {
        state = 'speech';
        status();
      });
      listener.on('speechend', () => {
        state = 'listening';
        status();
      });
      listener.on('digit', (e) => {
        running += String(e.digit);
        print(
          `  ${pc.bold(pc.green(String(e.digit)))}  ${(e.confidence * 100).toFixed(0).padStart(3)}%  ${e.latencyMs.toFixed(0)} ms after speech (${e.computeMs.toFixed(1)} ms compute)  @${(e.startMs / 1000).toFixed(2)}s`,
        );
      });
      listener.on('rejected', (e) => {
        const why = e.reason === 'low-confidence' ? `best ${e.candidate} at ${(e.confidence * 100).toFixed(0)}%` : e.reason;
        print(pc.dim(`  ·  not a digit (${why})  @${(e.startMs / 1000).toFixed(2)}s`));
      });
      listener.on('string', (e) => {
        running = '';
        print(`${pc.bold('string:')} ${pc.bold(pc.cyan(e.digits))}`);
      });
      listener.on('voiceshift', (e) => print(pc.dim(`  ~  voice adapted: heard at x${e.factor.toFixed(2)} (from ${e.utterances} utterances)`)));
      listener.on('normadapt', (e) =>
        print(pc.dim(e.dropped ? `  ~  normalization adaptation dropped: mostly not digits lately (${Math.round(100 * e.digitShare)}% digits)` : `  ~  normalization adapted to this voice (${e.clips} digits${e.selfEnrolled ? ", last layers refitted" : ""}, ${e.computeMs.toFixed(0)} ms)`)),
      );
      listener.on('normadaptfailed', (e) =>
        print(pc.yellow(`  !  normalization adaptation failed: ${e.message}${e.stopped ? ` (${e.failures} in a row: no more adapting in this session)` : '; listening goes on with the model in use'}`)),
      );
      listener.on('overflow', (e) => print(pc.red(`  ! capture overflow: ${e.droppedFrames} frames dropped (${e.totalDroppedFrames} in total)`)));
      const summary = await session();
      if (tty) out.write('\r\x1b[2K');
      out.write(pc.dim(`${summary.digitCount} digit(s), ${summary.rejectedCount} rejected, ${(summary.durationMs / 1000).toFixed(1)} s of audio\n`));
    });
}

/** Whether stdin is a regular file (`< clip.wav`), not a pipe, a socket or a terminal. */
function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile();
  } catch {
    return false;
  }
}
