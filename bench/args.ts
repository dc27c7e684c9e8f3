/**
 * Command-line options of a benchmark script: node:util parseArgs in strict mode, so a mistyped
 * option is an error instead of a run with the defaults; `--help` prints the script's usage (its
 * first doc comment) and exits. Numbers and JSON are checked here too, with the option's name in
 * the message.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The first doc comment of the script at `url` (import.meta.url), without its comment markers. */
export function usageOf(url: string): string {
  const source = readFileSync(fileURLToPath(url), 'utf8');
  const doc = /\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  return doc
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/**
 * node:util parseArgs (strict, as given in `config`) for the benchmark script at `url`
 * (import.meta.url): `--help` prints its usage and exits; a bad option prints the error and the
 * usage and exits with 2, instead of a stack trace.
 */
export function parseBenchArgs<T extends ParseArgsConfig>(url: string, config: T): ReturnType<typeof parseArgs<T>> {
  const argv = config.args ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usageOf(url)}\n`);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (err) {
    return failWithUsage(url, (err as Error).message);
  }
}

/** Prints `message` and the usage of the script at `url` to stderr and exits with 2. */
export function failWithUsage(url: string, message: string): never {
  process.stderr.write(`${message}\n\n${usageOf(url)}\n`);
  process.exit(2);
}

/** Typed access to a benchmark's options, for scripts that take numbers and JSON objects. */
export class BenchArgs<O extends Options> {
  readonly values: ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];

  /** Parses process.argv (or `argv`), as parseBenchArgs. */
  constructor(
    private readonly url: string,
    options: O,
    argv: string[] = process.argv.slice(2),
  ) {
    this.values = parseBenchArgs(url, { args: argv, options, strict: true, allowPositionals: false }).values;
  }

  /** A numeric option (its default, or undefined, when absent); anything that is not a finite number is refused. */
  number(name: keyof O & string, fallback: number): number;
  number(name: keyof O & string): number | undefined;
  number(name: keyof O & string, fallback?: number): number | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) this.fail(`--${name} takes a number, not ${JSON.stringify(raw)}`);
    return n;
  }

  /** A JSON object option (undefined when absent). */
  json<T extends object>(name: keyof O & string): T | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    try {
      const v = JSON.parse(String(raw)) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
      return v as T;
    } catch (err) {
      return this.fail(`--${name} takes a JSON object, e.g. '{"key":1}' (${(err as Error).message})`);
    }
  }

  /** A string option (its default when absent). */
  string(name: keyof O & string, fallback: string): string;
  string(name: keyof O & string): string | undefined;
  string(name: keyof O & string, fallback?: string): string | undefined {
    const raw = this.raw(name);
    return raw === undefined ? fallback : String(raw);
  }

  flag(name: keyof O & string): boolean {
    return this.raw(name) === true;
  }

  private raw(name: keyof O & string): unknown {
    return this.values[name as keyof typeof this.values];
  }

  /** Prints `message` and the usage to stderr and exits with 2. */
  fail(message: string): never {
    return failWithUsage(this.url, message);
  }
}
