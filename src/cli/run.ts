import type { Command } from 'commander';
import { SpokenDigitsError } from '../errors.js';

export interface CommandModule {
  register(program: Command): void;
}

/**
 * Registers only the command being run (lazy imports keep start-up fast), parses, and turns
 * errors into one line and a non-zero exit; stack traces only with --verbose.
 */
export async function runCli(
  program: Command,
  commands: Record<string, () => Promise<CommandModule>>,
  argv: string[] = process.argv,
): Promise<void> {
  const verbose = argv.includes('--verbose');
  const wanted = argv.slice(2).find((a) => !a.startsWith('-'));
  try {
    const names = wanted && commands[wanted] ? [wanted] : Object.keys(commands);
    for (const name of names) (await commands[name]()).register(program);
    await program.parseAsync(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`digits: ${message}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof SpokenDigitsError ? 2 : 1;
  }
}
