import { statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { AudioInputError } from '../errors.js';
import { EVAL_SPLITS } from '../data/splits.js';
import type { BackendChoice } from '../features/index.js';
import type { MicrophoneOptions } from '../stream/index.js';

export function parseBackend(value: string): BackendChoice {
  if (value === 'auto' || value === 'native' || value === 'wasm') return value;
  throw new InvalidArgumentError(`backend '${value}' must be auto, native or wasm`);
}

/**
 * A decimal number as typed ("0.5", "-3", "1e3"), else NaN: Number() alone reads '' and ' ' as 0 and
 * '0x1' as 1, which made `--threshold ''` turn rejection off without a word.
 */
export function decimal(value: string): number {
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(value) ? Number(value) : Number.NaN;
}

export function parseThreshold(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = decimal(value);
  if (!(t >= 0 && t <= 1)) throw new InvalidArgumentError(`threshold '${value}' must be a number between 0 and 1`);
  return t;
}

export function parsePositiveInt(name: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = decimal(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} '${value}' must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` (at most ${max})` : ''}`);
  return n;
}

/**
 * `--split` of an eval set (eval, compare): one of test, train or all, and not given for an eval set
 * that is a CSV manifest, which is evaluated as it lists its clips (the split picks takes of an FSDD
 * folder, and was ignored without a word).
 */
export function checkSplitTarget(target: string | undefined, command: Command): void {
  const split = command.getOptionValue('split');
  if (!EVAL_SPLITS.includes(split)) throw new InvalidArgumentError(`split '${split}' must be test, train or all`);
  if (target === undefined || command.getOptionValueSource('split') !== 'cli') return;
  // A WAV file is refused later with its own advice (digits predict takes single files).
  if (statSync(target, { throwIfNoEntry: false })?.isFile() && !/\.wav$/i.test(target)) throw new InvalidArgumentError(`--split picks takes of an FSDD folder; ${target} is a manifest, evaluated as it lists its clips`);
}

/**
 * Options given on the command line (not defaults) among `names` (attribute names), refused as "only
 * for `onlyFor`": an option that would not be used is not dropped in silence.
 */
export function refuseGiven(command: Command, names: readonly string[], onlyFor: string): void {
  const given = command.options.filter((o) => names.includes(o.attributeName()) && command.getOptionValueSource(o.attributeName()) === 'cli');
  if (given.length) throw new InvalidArgumentError(`${given.map((o) => o.long).join(', ')} ${given.length > 1 ? 'are' : 'is'} only for ${onlyFor}`);
}

/** ONNX Runtime threads the CLI lets a session use (more only thrashes; thousands exhaust memory). */
export const MAX_THREADS = 64;

/** A number option in lo..hi (undefined when not given); an AudioInputError naming it otherwise. */
export function parseNumberIn(value: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (value === undefined) return undefined;
  const n = decimal(value);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new AudioInputError(`${name} ${value} must be a number in ${lo}..${hi}`);
  return n;
}

/** The microphone options of the commands that capture (listen, enroll --counting). */
export function addMicrophoneOptions(command: Command): Command {
  return command
    .option('--device <index|name>', 'capture device (see digits listen --list-devices); default input otherwise')
    .option('--capture-rate <hz>', "rate to open the microphone at (default: the device's own rate)")
    .option('--capture-latency <s>', 'driver-side buffering in seconds (raise it if overflows are reported)');
}

export function parseMicrophoneOptions(opts: { device?: string; captureRate?: string; captureLatency?: string }): MicrophoneOptions {
  const latency = parseNumberIn(opts.captureLatency, '--capture-latency', 0, 60);
  return {
    device: opts.device === undefined ? undefined : /^\d+$/.test(opts.device) ? Number(opts.device) : opts.device,
    sampleRate: parseNumberIn(opts.captureRate, '--capture-rate', 4000, 192000),
    latency,
    // The ring must hold at least what the driver may deliver at once.
    bufferSeconds: Math.max(2, (latency ?? 0) * 2),
  };
}

/** An eval set given as a folder: one holding FSDD's recordings/ (the dataset's own folder, as --data takes it) is read there. */
export async function recordingsFolder(target: string): Promise<string> {
  const { recordingsDir } = await import('../data/local.js'); // null for a file (a manifest) or a folder without clips
  return recordingsDir(target)?.dir ?? target;
}
