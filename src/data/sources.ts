import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatasetError, SpokenDigitsError } from '../errors.js';
import { readWavFileInfo, readWavInfo } from '../audio/wav.js';
import { listFsddClips, parseFsddName, unreadableClipsError, type FsddClip } from './clips.js';
import { OFFICIAL_TEST_TAKES } from './splits.js';
import { diskError, downloadFile, fetchJson, type DownloadOptions } from './download.js';

export const DEFAULT_ARCHIVE_URL = 'https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.tar.gz';
export const DEFAULT_HF_API = 'https://datasets-server.huggingface.co';
export const DEFAULT_HF_DATASETS = ['mteb/free-spoken-digit-dataset', 'Matthijs/free-spoken-digit-dataset'];
/** Caps for extracting an archive from the network (FSDD clips are < 50 KB, ~20 MB in all). */
const MAX_CLIP_BYTES = 16 * 1024 * 1024;
const MAX_EXTRACT_BYTES = 1024 * 1024 * 1024;
/** FSDD 1.0.10: 6 speakers x 10 digits x 50 takes. */
export const FSDD_CLIP_COUNT = 3000;

export interface RemoteOptions extends DownloadOptions {
  /** tar.gz of the upstream repository; env SPOKEN_DIGITS_ARCHIVE_URL. */
  archiveUrl?: string;
  /** Hugging Face datasets-server base (lists a dataset's parquet files); env SPOKEN_DIGITS_HF_API. */
  hfApi?: string;
  /** Hugging Face datasets to try, in order. */
  hfDatasets?: string[];
  /** Clip count a download must have to be accepted (default 3000). */
  expectedClips?: number;
  /** Progress/diagnostic lines (default: none). */
  log?: (line: string) => void;
}

export interface Provenance {
  source: string;
  url: string;
  fetchedAt: string;
  clips: number;
  /** True when speaker/take were not in the source and were made up (see README). */
  syntheticNames?: boolean;
}

/** Checks a freshly built recordings folder: count, names, and that every file is a readable WAV. */
export function verifyRecordings(dir: string, expectedClips: number): FsddClip[] {
  const clips = listFsddClips(dir);
  const stray = fs.readdirSync(dir).filter((n) => !parseFsddName(n));
  if (stray.length) throw new DatasetError(`unexpected files ${stray.slice(0, 3).join(', ')}${stray.length > 3 ? ', ...' : ''} (names must be {digit}_{speaker}_{take}.wav)`);
  if (clips.length !== expectedClips) throw new DatasetError(`expected ${expectedClips} clips, found ${clips.length}`);
  for (const c of clips) {
    try {
      readWavFileInfo(c.path);
    } catch (err) {
      throw new DatasetError(`${path.basename(c.path)} is not a valid WAV: ${(err as Error).message}`, { cause: err });
    }
  }
  return clips;
}

const STAGING_PREFIX = '.staging-';

function stagingDir(cacheDir: string): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  return fs.mkdtempSync(path.join(cacheDir, STAGING_PREFIX));
}

/**
 * Removes the staging folders a fetch interrupted (Ctrl-C, a crash) left in `cacheDir`, those not
 * written to for `olderThanMs`. With the fetch lock held (fsdd.ts), so no other fetch writes into
 * one then; the age spares one whose process lost the lock without knowing it yet.
 */
export function removeStaleStaging(cacheDir: string, olderThanMs: number, options: { log?: (message: string) => void } = {}): void {
  for (const e of fs.readdirSync(cacheDir, { withFileTypes: true })) {
    if (!e.isDirectory() || !e.name.startsWith(STAGING_PREFIX)) continue;
    const dir = path.join(cacheDir, e.name);
    if (Date.now() - fs.statSync(dir).mtimeMs >= olderThanMs) removeStaging(dir, options);
  }
}

/**
 * Deletes a staging folder. When tar refuses an archive midway, its writes already under way can
 * still land while we delete (ENOTEMPTY): retry, and if the folder still will not go, say so
 * rather than let the cleanup replace the error that matters.
 */
function removeStaging(staging: string, options: { log?: (message: string) => void }): void {
  try {
    fs.rmSync(staging, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  } catch (err) {
    options.log?.(`could not remove the staging folder ${staging}: ${(err as Error).message}`);
  }
}

/** Moves a verified staging/recordings into cacheDir/recordings and records where it came from. */
function install(staging: string, cacheDir: string, provenance: Provenance): string {
  const target = path.join(cacheDir, 'recordings');
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(path.join(staging, 'recordings'), target);
  fs.writeFileSync(path.join(cacheDir, 'SOURCE.json'), `${JSON.stringify(provenance, null, 2)}\n`);
  return target;
}

/**
 * A local FSDD folder copied into cacheDir/recordings (its FSDD-named clips only), each clip checked
 * first (a regular file, a WAV, under the size a download's clips may have) and the copy verified and
 * installed as a download is: later commands find it there without --data. Clips that fail make one
 * DatasetError naming each, and the cache is left as it was.
 */
export function copyFromFolder(clips: readonly FsddClip[], from: string, cacheDir: string, options: { log?: (message: string) => void } = {}): { dir: string; provenance: Provenance } {
  let total = 0;
  const problems: { file: string; message: string }[] = [];
  for (const c of clips) {
    const st = fs.statSync(c.path, { throwIfNoEntry: false });
    if (!st?.isFile()) problems.push({ file: c.path, message: `${st ? 'not a regular file' : 'a link to nothing'}; FSDD clips are WAV files` });
    else if (st.size > MAX_CLIP_BYTES) problems.push({ file: c.path, message: `${st.size} bytes; FSDD clips are well under ${MAX_CLIP_BYTES}` });
    else if ((total += st.size) > MAX_EXTRACT_BYTES) throw new DatasetError(`${from} holds over ${MAX_EXTRACT_BYTES} bytes of clips; FSDD is about 30 MB`);
    else {
      try {
        readWavFileInfo(c.path);
      } catch (err) {
        problems.push({ file: c.path, message: (err as Error).message });
      }
    }
  }
  if (problems.length) throw unreadableClipsError(problems);
  const staging = stagingDir(cacheDir);
  try {
    const recordings = path.join(staging, 'recordings');
    fs.mkdirSync(recordings);
    for (const c of clips) {
      const copy = path.join(recordings, path.basename(c.path));
      fs.copyFileSync(c.path, copy);
      // The cache's own file, whatever the source's mode (a read-only or executable file, through a link).
      fs.chmodSync(copy, 0o644);
    }
    verifyRecordings(recordings, clips.length);
    const provenance: Provenance = { source: 'local folder', url: pathToFileURL(from).href, fetchedAt: new Date().toISOString(), clips: clips.length };
    return { dir: install(staging, cacheDir, provenance), provenance };
  } finally {
    removeStaging(staging, options);
  }
}

export function readProvenance(cacheDir: string): Provenance | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(cacheDir, 'SOURCE.json'), 'utf8')) as Provenance;
  } catch {
    return null;
  }
}

const reason = (err: unknown): string => (err instanceof SpokenDigitsError ? err.message : `${(err as Error)?.message ?? String(err)}`);

/**
 * Upstream GitHub archive: download (resumable), extract only `* /recordings/*.wav` entries with
 * the `tar` library (which refuses absolute paths and `..`), verify, install into the cache.
 */
export async function fetchFromArchive(cacheDir: string, options: RemoteOptions = {}): Promise<{ dir: string; provenance: Provenance }> {
  const url = options.archiveUrl ?? process.env.SPOKEN_DIGITS_ARCHIVE_URL ?? DEFAULT_ARCHIVE_URL;
  const downloads = path.join(cacheDir, 'downloads');
  fs.mkdirSync(downloads, { recursive: true });
  const file = path.join(downloads, 'fsdd-archive.tar.gz');
  options.log?.(`downloading ${url}`);
  await downloadFile(url, file, { ...options, label: 'FSDD archive' });
  const staging = stagingDir(cacheDir);
  try {
    const tar = await import('tar');
    const recordings = path.join(staging, 'recordings');
    fs.mkdirSync(recordings);
    let entries = 0;
    let total = 0;
    let refused: string | null = null;
    try {
      await tar.x({
        file,
        cwd: staging,
        strict: true,
        // Only regular files named like clips under a recordings/ folder, each of clip size: a
        // crafted archive cannot plant links, escape the staging folder or fill the disk.
        filter: (p: string, entry: unknown) => {
          const { type, size } = entry as { type?: string; size?: number };
          const ok = /(^|\/)recordings\/[^/]+\.wav$/.test(p) && !p.split('/').includes('..') && parseFsddName(path.basename(p)) !== null && (type === undefined || type === 'File' || type === 'OldFile');
          if (!ok) return false;
          if ((size ?? 0) > MAX_CLIP_BYTES) {
            refused ??= `${p} is ${size} bytes; FSDD clips are well under ${MAX_CLIP_BYTES}`;
            return false;
          }
          total += size ?? 0;
          if (total > MAX_EXTRACT_BYTES) {
            refused ??= `archive unpacks to more than ${MAX_EXTRACT_BYTES} bytes of clips`;
            return false;
          }
          entries++;
          return true;
        },
      });
    } catch (err) {
      throw diskError(err, `the clips into ${staging}`) ?? new DatasetError(`archive is corrupt or not a tar.gz (${(err as Error).message})`, { cause: err });
    }
    if (refused) throw new DatasetError(`archive refused: ${refused}`);
    if (entries === 0) throw new DatasetError('archive has no recordings/{digit}_{speaker}_{take}.wav entries');
    // Flatten whatever top folder the archive used (free-spoken-digit-dataset-master/recordings/...).
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (p === recordings) continue;
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && path.basename(dir) === 'recordings' && parseFsddName(e.name)) fs.renameSync(p, path.join(recordings, e.name));
      }
    };
    walk(staging);
    const clips = verifyRecordings(recordings, options.expectedClips ?? FSDD_CLIP_COUNT);
    const provenance: Provenance = { source: 'github-archive', url, fetchedAt: new Date().toISOString(), clips: clips.length };
    const dir = install(staging, cacheDir, provenance);
    fs.rmSync(file, { force: true });
    return { dir, provenance };
  } finally {
    removeStaging(staging, options);
  }
}

interface ParquetFileEntry {
  url: string;
  split?: string;
  filename?: string;
}

function toDigit(v: unknown): number | null {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\d$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 9 ? n : null;
}

function audioBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (v && typeof v === 'object' && (v as { bytes?: unknown }).bytes instanceof Uint8Array) return (v as { bytes: Uint8Array }).bytes;
  return null;
}

function audioPath(row: Record<string, unknown>): string | null {
  const a = row.audio as { path?: unknown } | undefined;
  for (const v of [a && typeof a === 'object' ? a.path : undefined, row.file, row.path, row.filename]) {
    if (typeof v === 'string' && v) return path.basename(v);
  }
  return null;
}

function safeSpeaker(v: unknown): string | null {
  if (typeof v === 'bigint' || typeof v === 'number') return `s${String(v)}`;
  if (typeof v !== 'string') return null;
  const s = v.replace(/[^A-Za-z0-9-]/g, '');
  return s.length > 0 && s.length <= 64 ? s : null;
}

/**
 * A Hugging Face FSDD dataset: list its parquet files through the datasets-server API, download
 * each (resumable), read rows with hyparquet and write one WAV per row in FSDD naming.
 * Names come from the row's original file name (`audio.path`, e.g. `3_theo_12.wav`) when it has
 * one; otherwise `{label}_{speaker}_{n}` with the speaker column if present (else `hf`) and n
 * counting up per digit and speaker in row order — such takes are not the upstream takes; the
 * provenance says so (syntheticNames). The rows of the listing's `test` files are numbered first
 * and the others from take 5 on, so the official split (takes 0-4) is the dataset's own test split
 * wherever that holds at most 5 takes of each speaker and digit, as FSDD's does.
 */
export async function fetchFromHuggingFace(dataset: string, cacheDir: string, options: RemoteOptions = {}): Promise<{ dir: string; provenance: Provenance }> {
  const api = (options.hfApi ?? process.env.SPOKEN_DIGITS_HF_API ?? DEFAULT_HF_API).replace(/\/+$/, '');
  const listUrl = `${api}/parquet?dataset=${encodeURIComponent(dataset)}`;
  options.log?.(`listing ${listUrl}`);
  const listing = (await fetchJson(listUrl)) as { parquet_files?: ParquetFileEntry[] };
  const files = Array.isArray(listing?.parquet_files) ? listing.parquet_files.filter((f) => typeof f?.url === 'string') : [];
  if (files.length === 0) throw new DatasetError(`no parquet files listed for ${dataset}`);
  if (files.length > 64) throw new DatasetError(`${files.length} parquet files listed for ${dataset}; FSDD needs a handful — refusing`);
  const downloads = path.join(cacheDir, 'downloads');
  fs.mkdirSync(downloads, { recursive: true });
  const parquets = files.map((_, i) => path.join(downloads, `${dataset.replace(/[^A-Za-z0-9-]/g, '_')}-${i}.parquet`));
  // All downloaded (resumable) before anything is unpacked: an interrupted download leaves .part files, not a staging folder.
  for (const [i, f] of files.entries()) {
    options.log?.(`downloading ${f.url}`);
    await downloadFile(f.url, parquets[i], { ...options, label: `${dataset} ${f.split ?? ''} ${i + 1}/${files.length}` });
  }
  const staging = stagingDir(cacheDir);
  const recordings = path.join(staging, 'recordings');
  fs.mkdirSync(recordings);
  const { parquetReadObjects, asyncBufferFromFile } = await import('hyparquet');
  let synthetic = false;
  const counters = new Map<string, number>();
  // Made-up takes: the test split's rows first, from 0; then the others, from take 5 (or after the test rows).
  const order = files.map((f, i) => ({ f, i, test: f.split === 'test' })).sort((a, b) => Number(b.test) - Number(a.test));
  const firstTake = (test: boolean) => (!test && order[0]?.test ? OFFICIAL_TEST_TAKES : 0);
  try {
    let written = 0;
    for (const { f, i, test } of order) {
      // The first file after the test split's: its takes come after theirs, from take 5 at least.
      if (!test) for (const [key, n] of counters) counters.set(key, Math.max(n, firstTake(false)));
      const local = parquets[i];
      let rows: Record<string, unknown>[];
      try {
        rows = (await parquetReadObjects({ file: await asyncBufferFromFile(local), utf8: false })) as Record<string, unknown>[];
      } catch (err) {
        throw new DatasetError(`${path.basename(f.url)} is not a readable parquet file (${(err as Error).message})`, { cause: err });
      }
      for (const [r, row] of rows.entries()) {
        const where = `${path.basename(f.url)} row ${r}`;
        const bytes = audioBytes(row.audio);
        if (!bytes) throw new DatasetError(`${where}: no audio bytes (expected an audio {bytes, path} column)`);
        const label = toDigit(row.label ?? row.digit ?? row.labels);
        const original = audioPath(row);
        const parsed = original ? parseFsddName(original) : null;
        if (label === null && !parsed) throw new DatasetError(`${where}: no digit label 0-9`);
        if (parsed && label !== null && parsed.digit !== label) throw new DatasetError(`${where}: label ${label} disagrees with file name ${original}`);
        let name: string;
        if (parsed) name = `${parsed.digit}_${parsed.speaker}_${parsed.take}.wav`;
        else {
          synthetic = true;
          const speaker = safeSpeaker(row.speaker ?? row.speaker_id ?? row.speakerId) ?? 'hf';
          const key = `${label}_${speaker}`;
          const n = counters.get(key) ?? firstTake(test);
          counters.set(key, n + 1);
          name = `${key}_${n}.wav`;
        }
        try {
          readWavInfo(bytes);
        } catch (err) {
          throw new DatasetError(`${where} (${name}): audio is not a valid WAV: ${(err as Error).message}`, { cause: err });
        }
        const out = path.join(recordings, name);
        if (fs.existsSync(out)) continue; // the same clip listed in two splits
        try {
          fs.writeFileSync(out, bytes);
        } catch (err) {
          throw diskError(err, out) ?? err;
        }
        written++;
      }
    }
    options.log?.(`wrote ${written} clips`);
    const clips = verifyRecordings(recordings, options.expectedClips ?? FSDD_CLIP_COUNT);
    const provenance: Provenance = { source: `huggingface:${dataset}`, url: listUrl, fetchedAt: new Date().toISOString(), clips: clips.length, ...(synthetic ? { syntheticNames: true } : {}) };
    const dir = install(staging, cacheDir, provenance);
    for (const file of parquets) fs.rmSync(file, { force: true });
    return { dir, provenance };
  } finally {
    removeStaging(staging, options);
  }
}

export { reason as failureReason };
