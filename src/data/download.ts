import * as fs from 'node:fs';
import { DatasetError } from '../errors.js';

export interface DownloadOptions {
  /** Show a progress bar on stderr (default: only when stderr is a terminal). */
  progress?: boolean;
  /** Refuse downloads larger than this (bytes). Default 512 MB: FSDD is ~20 MB in any form. */
  maxBytes?: number;
  /** Attempts after a cut connection or a 5xx, each resuming where the last stopped. Default 4. */
  retries?: number;
  /** Abort when no byte arrives for this long (ms). Default 30 s. */
  idleTimeoutMs?: number;
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

interface Bar {
  start(total: number, value: number): void;
  update(value: number): void;
  setTotal(total: number): void;
  stop(): void;
}

async function makeBar(label: string, wanted: boolean | undefined): Promise<Bar | null> {
  if (!(wanted ?? process.stderr.isTTY)) return null;
  const { default: cliProgress } = await import('cli-progress');
  return new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function partSize(part: string): number {
  try {
    return fs.statSync(part).size;
  } catch {
    return 0;
  }
}

/**
 * Downloads `url` to `dest` through `dest.part`, resuming an existing .part with an HTTP Range
 * request (a server that ignores Range sends 200 and we start over). The .part is renamed to
 * `dest` only when complete, so a crash never leaves a file that looks finished.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  const retries = options.retries ?? 4;
  const idle = options.idleTimeoutMs ?? 30_000;
  const part = `${dest}.part`;
  const bar = await makeBar(options.label ?? url, options.progress);
  let resumed = false;
  let lastError = '';
  try {
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      let have = partSize(part);
      const controller = new AbortController();
      let timer = setTimeout(() => controller.abort(), idle);
      const poke = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), idle);
      };
      try {
        let res: Response;
        try {
          res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: controller.signal, redirect: 'follow' });
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          lastError = controller.signal.aborted ? `no response within ${idle} ms` : `cannot connect (${cause?.code ?? cause?.message ?? (err as Error).message})`;
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
            fs.renameSync(part, dest);
            return { bytes: have, attempts: attempt, resumed: true };
          }
          fs.rmSync(part, { force: true });
          continue;
        }
        if (res.status >= 500) {
          lastError = `HTTP ${res.status} ${res.statusText}`;
          await res.body?.cancel();
          await sleep(200 * attempt);
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
            fs.rmSync(part, { force: true });
            lastError = 'server answered the resume request with a different range';
            continue;
          }
          resumed = true;
          total = m[3] === '*' ? null : Number(m[3]);
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
        const fd = fs.openSync(part, have > 0 ? 'a' : 'w');
        let written = have;
        bar?.start(total ?? 0, written);
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            poke();
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
          lastError = controller.signal.aborted ? `stalled: no data for ${idle} ms` : `connection cut after ${written} bytes (${(err as Error).message})`;
          continue;
        } finally {
          fs.closeSync(fd);
        }
        if (total !== null && written !== total) {
          lastError = `connection cut after ${written} of ${total} bytes`;
          continue;
        }
        fs.renameSync(part, dest);
        return { bytes: written, attempts: attempt, resumed };
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    bar?.stop();
  }
  throw new DatasetError(`download of ${url} failed: ${lastError || 'unknown error'}${partSize(part) > 0 ? ` (partial file kept for resuming: ${part})` : ''}`);
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
  const text = await res.text();
  if (text.length > maxBytes) throw new DatasetError(`${url} returned more than ${maxBytes} bytes of JSON`);
  try {
    return JSON.parse(text);
  } catch {
    throw new DatasetError(`${url} did not return JSON`);
  }
}
