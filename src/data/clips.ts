import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from '../errors.js';
import { fsReason } from '../fs-reason.js';

/** One recording named the FSDD way: `{digit}_{speaker}_{take}.wav`. */
export interface FsddClip {
  path: string;
  digit: number;
  speaker: string;
  take: number;
}

const FSDD_NAME = /^([0-9])_([A-Za-z0-9-]+)_([0-9]+)\.wav$/i;

/** Parses an FSDD file name (no directory); null when it does not follow the naming. */
export function parseFsddName(fileName: string): Omit<FsddClip, 'path'> | null {
  const m = FSDD_NAME.exec(fileName);
  if (!m) return null;
  return { digit: Number(m[1]), speaker: m[2], take: Number(m[3]) };
}

/**
 * Every `{digit}_{speaker}_{take}.wav` in `dir` (not recursive; other files are ignored), sorted
 * by speaker, digit, take so runs are reproducible whatever order the file system lists.
 */
export function listFsddClips(dir: string): FsddClip[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new DatasetError(`${dir}: ${fsReason(err, { ENOENT: 'does not exist', ENOTDIR: 'is not a directory' })}`, { cause: err });
  }
  const clips: FsddClip[] = [];
  for (const name of names) {
    const parsed = parseFsddName(name);
    if (parsed) clips.push({ path: path.join(dir, name), ...parsed });
  }
  clips.sort((a, b) => (a.speaker < b.speaker ? -1 : a.speaker > b.speaker ? 1 : a.digit - b.digit || a.take - b.take));
  return clips;
}
