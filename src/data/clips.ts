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

/** The Free Spoken Digit Dataset's speakers (a folder of only these is FSDD, or part of it). */
export const FSDD_SPEAKERS: readonly string[] = ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler'];

/** Whether clips are FSDD's (every speaker one of FSDD_SPEAKERS), not recordings of one's own. */
export function isFsdd(clips: readonly FsddClip[]): boolean {
  return clips.every((c) => FSDD_SPEAKERS.includes(c.speaker));
}

// A speaker's name: letters (any script), digits and hyphens.
const FSDD_NAME = /^([0-9])_([\p{L}\p{N}-]+)_([0-9]+)\.wav$/iu;

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

/** What a folder holds that listFsddClips does not read: WAVs named otherwise, and subfolders with WAVs. */
export function unreadFiles(dir: string): { misnamed: string[]; folders: { name: string; wavs: number }[] } {
  const misnamed: string[] = [];
  const folders: { name: string; wavs: number }[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return { misnamed, folders };
  }
  for (const e of entries) {
    // A link to a folder is a folder here too.
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (fs.statSync(path.join(dir, e.name), { throwIfNoEntry: false })?.isDirectory() ?? false));
    if (isDir) {
      let wavs = 0;
      try {
        wavs = fs.readdirSync(path.join(dir, e.name)).filter((n) => /\.wav$/i.test(n)).length;
      } catch {
        // An unreadable subfolder is not read either way.
      }
      if (wavs > 0) folders.push({ name: e.name, wavs });
    } else if (/\.wav$/i.test(e.name) && !parseFsddName(e.name)) misnamed.push(e.name);
  }
  misnamed.sort();
  folders.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { misnamed, folders };
}

/**
 * One line saying what in `dir` a command skipped (null: nothing), so recordings named otherwise or
 * kept in a subfolder are not left out without a word.
 */
export function describeUnread(dir: string): string | null {
  const { misnamed, folders } = unreadFiles(dir);
  const parts: string[] = [];
  const some = (names: string[]) => `${names.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}${names.length > 3 ? ', ...' : ''}`;
  if (misnamed.length) parts.push(`${misnamed.length} .wav file${misnamed.length > 1 ? 's' : ''} not named {digit}_{speaker}_{take}.wav (${some(misnamed)})`);
  const inFolders = folders.reduce((n, f) => n + f.wavs, 0);
  if (folders.length) parts.push(`subfolders are not read (${some(folders.map((f) => `${f.name}/`))} hold${folders.length === 1 ? 's' : ''} ${inFolders} .wav file${inFolders === 1 ? '' : 's'})`);
  return parts.length ? `skipped in ${dir}: ${parts.join('; ')}` : null;
}

/** A reader's message about `file`, naming the file once (WAV errors name it already). */
function namingFile(file: string, message: string): string {
  return message.includes(file) ? message : `${file}: ${message}`;
}

/** Clips that could not be read, one line each ("  - file: why"), the first 10 and how many more. */
export function unreadableLines(problems: readonly { file: string; message: string }[]): string[] {
  const listed = problems.slice(0, 10).map((p) => `  - ${namingFile(p.file, p.message)}`);
  if (problems.length > 10) listed.push(`  - ... and ${problems.length - 10} more`);
  return listed;
}

/** One DatasetError for every clip that could not be read (the first 10 listed), saying what to do. */
export function unreadableClipsError(problems: readonly { file: string; message: string }[]): DatasetError {
  const n = problems.length;
  const listed = unreadableLines(problems);
  return new DatasetError(`${n} clip${n === 1 ? '' : 's'} cannot be read; remove or re-record ${n === 1 ? 'it' : 'them'} (or convert with sox or ffmpeg), then run again:\n${listed.join('\n')}`);
}
