import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export function modelsDir(): string {
  return join(packageRoot(), 'models');
}

/**
 * A model as the CLI's --model and `load({ model })` take it: a path to a file, or the name of a
 * shipped model ('default', 'small', or an .onnx file name of models/ such as 'small.onnx'), looked
 * up there when the current folder holds no file of that name. A bare name prefers the int8 file.
 */
export function resolveModelPath(model: string): string {
  if (model === '' || givenAsPath(model)) return model;
  let dir: string;
  try {
    dir = modelsDir();
  } catch {
    return model; // bundled where no package root is found: no shipped models to look in
  }
  const names = model.endsWith('.onnx') ? [model] : [`${model}.int8.onnx`, `${model}.onnx`];
  return names.map((name) => join(dir, name)).find(isFile) ?? model;
}

/** For a model given as a bare name that is no file: the shipped models' names. */
export function shippedModelsHint(model: string): string {
  if (givenAsPath(model)) return '';
  let names: string[] = [];
  try {
    names = [...new Set(readdirSync(modelsDir()).filter((f) => f.endsWith('.onnx')).map((f) => f.replace(/(\.int8)?\.onnx$/, '')))].sort();
  } catch {
    // no models folder: nothing to name
  }
  return names.length ? ` (the shipped models are ${names.join(', ')}; anything else is a path to an .onnx file)` : '';
}

/** A model named by a path, or by a file of that name in the current folder: never looked up among the shipped ones. */
function givenAsPath(model: string): boolean {
  return /[\\/]/.test(model) || isFile(model);
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
