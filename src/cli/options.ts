import { InvalidArgumentError } from 'commander';
import type { BackendChoice } from '../features/index.js';

export function parseBackend(value: string): BackendChoice {
  if (value === 'auto' || value === 'native' || value === 'wasm') return value;
  throw new InvalidArgumentError(`backend '${value}' must be auto, native or wasm`);
}

export function parseThreshold(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Number(value);
  if (!(t >= 0 && t <= 1)) throw new InvalidArgumentError(`threshold '${value}' must be a number between 0 and 1`);
  return t;
}

export function parsePositiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} '${value}' must be a positive integer`);
  return n;
}
