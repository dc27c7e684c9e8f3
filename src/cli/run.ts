import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { SpokenDigitsError } from '../errors.js';
import { shown } from '../shown.js';

export interface CommandModule {
  register(program: Command): void;
}

/**
 * Registers only the command being run (lazy imports keep start-up fast), parses, and turns
 * errors into one line and a non-zero exit; stack traces only with --verbose. Exit codes: 2 for
 * what the user can fix (a typed SpokenDigitsError: bad input, a missing file or model; or a usage
 * error commander reports: an unknown option or command, a missing argument), 1 for anything else.
 */
export async function runCli(
  program: Command,
  commands: Record<string, () => Promise<CommandModule>>,
  argv: string[] = process.argv,
): Promise<void> {
  const verbose = argv.includes('--verbose');
  watchOutput();
  printWarnings();
  const wanted = argv.slice(2).find((a) => !a.startsWith('-'));
  // Commander's usage errors throw instead of exiting with its code 1; it has printed them already.
  program.exitOverride();
  try {
    const names = wanted && commands[wanted] ? [wanted] : Object.keys(commands);
    for (const name of names) (await commands[name]()).register(program);
    await program.parseAsync(argv);
  } catch (err) {
    // Commander has printed its own usage errors; an InvalidArgumentError from our option checks
    // (src/cli/options.ts) in a command's action it has not.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    // Line by line: a message may list what was tried, one per line (data sources), and keeps its lines.
    process.stderr.write(`digits: ${message.split('\n').map(shown).join('\n')}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof SpokenDigitsError || err instanceof InvalidArgumentError ? 2 : 1;
  }
}

/**
 * Process warnings (the library's, e.g. an int8 model that saturates this CPU's kernels, and Node's)
 * as one `digits: warning:` line each, instead of Node's form with its --trace-warnings hint. Node's
 * switches still silence them (--no-warnings, NODE_NO_WARNINGS=1; --no-deprecation for deprecations).
 */
function printWarnings(): void {
  if (process.execArgv.includes('--no-warnings') || process.env.NODE_NO_WARNINGS === '1') return;
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name === 'DeprecationWarning' && process.noDeprecation) return;
    process.stderr.write(`digits: warning: ${shown(w.message)}\n`);
  });
}

/**
 * Output that cannot be written is a failure, not a silent exit 0: a full disk or a broken device
 * (`> /dev/full`) says so and exits 2. A reader that went away (`| head`, EPIPE) ends the output
 * quietly, as shell tools do.
 */
function watchOutput(): void {
  let reported = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || reported) return;
    reported = true;
    process.stderr.write(`digits: cannot write the output: ${err.message}\n`);
    process.exitCode = 2;
  });
}
