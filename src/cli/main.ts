#!/usr/bin/env node
import { Command } from 'commander';
import { runCli, type CommandModule } from './run.js';
// Inlined by the bundler (only this field), read as JSON by tsx.
import { version } from '../../package.json';

// Each command lives in src/cli/commands/<name>.ts, exports `register(program)`, and is imported
// only when it runs, so `digits predict` does not pay for loading the trainer.
// Add one line per command here.
const commands: Record<string, () => Promise<CommandModule>> = {
  data: () => import('./commands/data.js'),
  predict: () => import('./commands/predict.js'),
  eval: () => import('./commands/eval.js'),
  compare: () => import('./commands/compare.js'),
  bench: () => import('./commands/bench.js'),
  doctor: () => import('./commands/doctor.js'),
  serve: () => import('./commands/serve.js'),
  export: () => import('./commands/export.js'),
  quantize: () => import('./commands/quantize.js'),
  ensemble: () => import('./commands/ensemble.js'),
  enroll: () => import('./commands/enroll.js'),
  listen: () => import('./commands/listen.js'),
  train: () => import('./commands/train.js'),
};

const program = new Command('digits')
  .description('Recognize spoken digits 0-9 from files, a microphone or a browser')
  .version(version, '-V, --version', 'print the version of spoken-digits')
  .option('--verbose', 'print stack traces and debug details on errors')
  .showHelpAfterError("(digits --help lists the commands; digits COMMAND --help a command's options)");

await runCli(program, commands);
