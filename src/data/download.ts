import * as fs from 'node:fs';
import { DatasetError } from '../errors.js';

export interface DownloadOptions {
  /** Show a progress bar on stderr (default: only when stderr is a terminal). */
  progress?: boolean;
  /** Refuse downloads larger than this (bytes). Default 512 MB: FSDD is ~20 MB in any form. */
  maxBytes?: number;
  /** Attempts after a cut connection or a 5xx, each resuming where the last stopped. Default 4. */
  retries?: number;
  /**
   * Abort when no byte arrives for this long (ms), or when fewer than `minBytesPerSec` arrived over
   * this long (a server that trickles). Default 30 s.
   */
  idleTimeoutMs?: number;
  /** The slowest transfer accepted, averaged over idleTimeoutMs. Default 1024 (1 KB/s); 0 accepts any. */
  minBytesPerSec?: number;
  /** What the progress bar calls it. */
  label?: string;
}

export interface DownloadResult {
  bytes: number;
  /** Requests made (1 = no interruption). */
  attempts: number;
  /** A request continued a partial file with an HTTP Range request. */
  resumed: boolean;
}

/**
 * A file could not be written (a full disk, a read-only or foreign cache folder): no retry or other
 * source can help, so the sources that follow are not tried.
 */
export class DownloadWriteError extends DatasetError {}

interface Bar {
  start(total: number, value: number): void;
  update(value: number): void;
  stop(): void;
}

/** A progress bar on stderr; of a download whose length the server did not say, the bytes so far only. */
async function makeBar(label: string, wanted: boolean | undefined, total: number | null): Promise<Bar | null> {
  if (!(wanted ?? process.stderr.isTTY)) return null;
  const { default: cliProgress } = await import('cli-progress');
  return new cliProgress.SingleBar(
    {
      format: total === null ? `${label} {value} bytes` : `${label} [{bar}] {percentage}% | {value}/{total} bytes`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** What a .part was downloaded from, kept beside it (`.part.json`): a resume asks for the rest of that same file. */
interface PartOrigin {
  url: string;
  etag?: string;
  lastModified?: string;
  /** The whole file's length, as the server said. */
  total?: number;
}

function readOrigin(file: string): PartOrigin | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as PartOrigin;
    return typeof o?.url === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** An error of the file system (not of the network) while writing `what`, as a DownloadWriteError. */
function writeError(err: unknown, what: string): DownloadWriteError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? ': no space left there; free some, or fetch elsewhere with --to DIR' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ': not writable; fetch elsewhere with --to DIR or set XDG_CACHE_HOME' : '';
  return new DownloadWriteError(`cannot write ${what} (${(err as Error).message})${hint}`, { cause: err });
}

/** The disk's own failures: no other source, nor another try, gets past them. */
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO']);

/** `err` as a DownloadWriteError when the disk refused a write (full, read-only, not ours); null for anything else. */
export function diskError(err: unknown, what: string): DownloadWriteError | null {
  if (err instanceof DownloadWriteError) return err;
  return DISK_CODES.has((err as NodeJS.ErrnoException)?.code ?? '') ? writeError(err, what) : null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The longest a Retry-After is waited for: a server asking for more is given up on sooner, after the retries. */
const MAX_RETRY_AFTER_MS = 30_000;

/** A Retry-After header (seconds, or an HTTP date) as the wait it asks for, at most MAX_RETRY_AFTER_MS; null without a usable one. */
function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const ms = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : null;
}

function partSize(part: string): number {
  try {
    return fs.statSync(part).size;
  } catch {
    return 0;
  }
}

/**
 * Downloads `url` to `dest` through `dest.part`, resuming an existing .part with an HTTP Range
 * request: only a .part of the same URL (recorded beside it), and with If-Range on its ETag or
 * Last-Modified, so a file changed on the server since is downloaded again, never spliced onto the
 * old one (a server that ignores Range sends 200 and we start over too). The .part is renamed to
 * `dest` only when complete, so a crash never leaves a file that looks finished.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  const retries = options.retries ?? 4;
  const idle = options.idleTimeoutMs ?? 30_000;
  const minRate = options.minBytesPerSec ?? 1024;
  const part = `${dest}.part`;
  const originFile = `${part}.json`;
  let bar: Bar | null = null;
  let resumed = false;
  let lastError = '';
  let attempts = 0;
  const discardPart = (): void => {
    fs.rmSync(part, { force: true });
    fs.rmSync(originFile, { force: true });
  };
  // The whole file is in the .part: it becomes `dest`, and what it was begun from goes.
  const completePart = (): void => {
    try {
      fs.renameSync(part, dest);
      fs.rmSync(originFile, { force: true });
    } catch (err) {
      throw writeError(err, dest);
    }
  };
  try {
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      attempts = attempt;
      let have = partSize(part);
      const origin = have > 0 ? readOrigin(originFile) : null;
      if (have > 0 && (origin?.url !== url || !(origin.etag || origin.lastModified || origin.total))) {
        // Of another URL, or with nothing to tell the same file by (a server that said neither its ETag,
        // its date nor its length; a run that did not say where it came from): not resumed.
        discardPart();
        have = 0;
      }
      const controller = new AbortController();
      let why: 'idle' | 'slow' | null = null;
      const abort = (kind: 'idle' | 'slow'): void => {
        why = kind;
        controller.abort();
      };
      let timer = setTimeout(() => abort('idle'), idle);
      // Bytes in the current window of `idle` ms: a trickle slower than minRate is given up on.
      let windowStart = performance.now();
      let windowBytes = 0;
      const poke = (bytes: number): void => {
        clearTimeout(timer);
        timer = setTimeout(() => abort('idle'), idle);
        windowBytes += bytes;
        const now = performance.now();
        if (now - windowStart >= idle) {
          if (windowBytes < (minRate * (now - windowStart)) / 1000) abort('slow');
          windowStart = now;
          windowBytes = 0;
        }
      };
      try {
        let res: Response;
        const headers: Record<string, string> = {};
        if (have > 0) {
          headers.Range = `bytes=${have}-`;
          // A strong ETag, else the date: the server sends the whole (new) file if it changed.
          const validator = origin?.etag && !origin.etag.startsWith('W/') ? origin.etag : origin?.lastModified;
          if (validator) headers['If-Range'] = validator;
        }
        try {
          res = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          lastError = controller.signal.aborted ? `no response within ${idle} ms` : /redirect count exceeded/.test(cause?.message ?? '') ? 'too many redirects (a redirect loop?)' : `cannot connect (${cause?.code ?? cause?.message ?? (err as Error).message})`;
          // Only a dropped or timed-out connection is worth retrying; offline, refused or a bad URL is not.
          const transient = controller.signal.aborted || ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(cause?.code ?? '');
          if (!transient) break;
          await sleep(200 * attempt);
          continue;
        }
        if (res.status === 416 && have > 0) {
          // Range past the end: the .part may already be complete.
          const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
          await res.body?.cancel();
          if (total === have) {
            completePart();
            return { bytes: have, attempts: attempt, resumed: true };
          }
          discardPart();
          continue;
        }
        if (res.status >= 500 || res.status === 429) {
          lastError = `HTTP ${res.status} ${res.statusText}`;
          await res.body?.cancel();
          await sleep(retryAfterMs(res.headers.get('retry-after')) ?? 200 * attempt);
          continue;
        }
        if (res.status !== 200 && res.status !== 206) {
          await res.body?.cancel();
          throw new DatasetError(`HTTP ${res.status} ${res.statusText} from ${url}`);
        }
        let total: number | null;
        if (res.status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
          if (!m || Number(m[1]) !== have) {
            // A range we did not ask for: start over rather than splice wrong bytes.
            await res.body?.cancel();
            discardPart();
            lastError = 'server answered the resume request with a different range';
            continue;
          }
          total = m[3] === '*' ? null : Number(m[3]);
          const etag = res.headers.get('etag');
          if ((origin?.total !== undefined && total !== null && total !== origin.total) || (origin?.etag && etag && etag !== origin.etag)) {
            // Another file than the one begun (a server that ignores If-Range): start over.
            await res.body?.cancel();
            discardPart();
            lastError = 'the file changed on the server since the part kept was downloaded';
            continue;
          }
          resumed = true;
        } else {
          have = 0;
          const len = res.headers.get('content-length');
          total = len === null ? null : Number(len);
        }
        if (total !== null && total > maxBytes) {
          await res.body?.cancel();
          throw new DatasetError(`${url} is ${total} bytes, over the ${maxBytes}-byte limit for a dataset download`);
        }
        if (!res.body) throw new DatasetError(`empty response body from ${url}`);
        let fd: number | undefined;
        try {
          // The .part emptied first (a new file from its start), then said what it is, for a later resume.
          fd = fs.openSync(part, have > 0 ? 'a' : 'w');
          if (res.status === 200) {
            const etag = res.headers.get('etag');
            const lastModified = res.headers.get('last-modified');
            const started: PartOrigin = { url, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}), ...(total !== null ? { total } : {}) };
            fs.writeFileSync(originFile, JSON.stringify(started));
          }
        } catch (err) {
          if (fd !== undefined) fs.closeSync(fd);
          await res.body.cancel().catch(() => undefined);
          throw writeError(err, part);
        }
        let written = have;
        bar ??= await makeBar(options.label ?? url, options.progress, total);
        bar?.start(total ?? 0, written);
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            poke(chunk.length);
            written += chunk.length;
            if (written > maxBytes) {
              controller.abort();
              throw new DatasetError(`${url} sent more than ${maxBytes} bytes; refusing to continue`);
            }
            fs.writeSync(fd, chunk);
            bar?.update(written);
          }
        } catch (err) {
          if (err instanceof DatasetError) throw err;
          const disk = diskError(err, part);
          if (disk) {
            controller.abort();
            throw disk;
          }
          if (why === 'slow') {
            // Retrying a server this slow only takes longer: the next source is tried instead.
            lastError = `too slow: under ${minRate} bytes/s over ${idle / 1000} s (${written} bytes so far)`;
            break;
          }
          lastError = why === 'idle' ? `stalled: no data for ${idle} ms` : `connection cut after ${written} bytes (${(err as Error).message})`;
          continue;
        } finally {
          fs.closeSync(fd);
        }
        if (total !== null && written !== total) {
          lastError = `connection cut after ${written} of ${total} bytes`;
          continue;
        }
        completePart();
        return { bytes: written, attempts: attempt, resumed };
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    bar?.stop();
  }
  const tries = attempts === 1 ? '' : ` after ${attempts} attempts`;
  throw new DatasetError(`download of ${url} failed${tries}: ${lastError || 'unknown error'}${partSize(part) > 0 ? ` (partial file kept for resuming: ${part})` : ''}`);
}

/** GET a small JSON document (an index listing), bounded in size. */
export async function fetchJson(url: string, maxBytes = 4 * 1024 * 1024): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000), redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DatasetError(`cannot connect to ${url} (${cause?.code ?? cause?.message ?? (err as Error).message})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new DatasetError(`HTTP ${res.status} ${res.statusText} from ${url}`);
  }
  // Read up to the cap, not whatever the server sends.
  const parts: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop (the throw) cancels the rest of the body.
  for await (const chunk of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw new DatasetError(`${url} returned more than ${maxBytes} bytes of JSON`);
    }
    parts.push(chunk);
  }
  const text = Buffer.concat(parts).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new DatasetError(`${url} did not return JSON`);
  }
}
