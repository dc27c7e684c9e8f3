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
    // `digits nosuch --help` is an unknown command, not a request for the program's help.
    const unknown = wanted !== undefined && !commands[wanted] && wanted !== 'help';
    await program.parseAsync(unknown ? argv.filter((a) => a !== '--help' && a !== '-h') : argv);
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
 * The library's process warnings (codes SPOKEN_DIGITS_*, e.g. an int8 model that saturates this CPU's
 * kernels) as one `digits: warning:` line each, instead of Node's form with its --trace-warnings hint;
 * every other warning goes to Node's own printer as before. Node's switches still silence them: with
 * --no-warnings (or NODE_NO_WARNINGS=1, or either in NODE_OPTIONS) Node installs no printer and
 * nothing is printed; --disable-warning=CODE (or =Name) leaves out that one.
 */
function printWarnings(): void {
  const nodePrinters = process.listeners('warning');
  if (nodePrinters.length === 0) return;
  const disabled = disabledWarnings([...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]);
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (!w.code?.startsWith('SPOKEN_DIGITS_')) for (const print of nodePrinters) print(w);
    else if (!disabled.has(w.code) && !disabled.has(w.name)) process.stderr.write(`digits: warning: ${shown(w.message)}\n`);
  });
}

/** The codes and names given to --disable-warning (as `--disable-warning=X` or `--disable-warning X`). */
export function disabledWarnings(args: readonly string[]): Set<string> {
  const out = new Set<string>();
  args.forEach((a, i) => {
    if (a.startsWith('--disable-warning=')) out.add(a.slice('--disable-warning='.length));
    else if (a === '--disable-warning' && args[i + 1]) out.add(args[i + 1]);
  });
  return out;
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
