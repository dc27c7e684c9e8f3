import { chromium, type Browser, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { locateRecordings } from '../fsdd-locate.js';

/** Shared set-up of the kiosk browser tests: the system Chromium, fake microphones made from FSDD clips. */
export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'artifacts');
export const WEB_DIST = join(ROOT, 'web-dist');

/**
 * The web app as the npm package ships it (`files` in package.json leaves out the .gz files and ORT's raw
 * .wasm, keeping its .br): the files `npm pack` would take from web-dist/, copied to a temporary folder,
 * so the browser tests run the kiosk the way an installed `digits serve` serves it.
 */
export function packagedWebDist(): string {
  const listing = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = (JSON.parse(listing) as { files: { path: string }[] }[])[0].files.map((f) => f.path).filter((f) => f.startsWith('web-dist/'));
  const out = join(mkdtempSync(join(tmpdir(), 'digits-packaged-')), 'web-dist');
  for (const f of files) {
    const to = join(out, f.slice('web-dist/'.length));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(ROOT, f), to);
  }
  return out;
}

export function fsddDir(): string | undefined {
  const located = locateRecordings();
  return 'dir' in located ? located.dir : undefined;
}

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often give /dev/shm only 64 MB.
  '--disable-dev-shm-usage',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // The page's AudioContext must run without a click, as in a kiosk launched with this flag.
  '--autoplay-policy=no-user-gesture-required',
];

/** One browser per fake-microphone file: Chromium reads the file once per opened capture (%noloop). */
/** Chromium with a fake microphone (playing `fakeMicWav`, else the fake device's beeps), or with none at all (`noMicrophone`). */
export async function launch(fakeMicWav?: string, { noMicrophone = false, extraArgs = [] as string[] } = {}): Promise<Browser> {
  const args = [...FLAGS.filter((f) => !(noMicrophone && f === '--use-fake-device-for-media-stream')), ...extraArgs];
  if (fakeMicWav) args.push(`--use-file-for-fake-audio-capture=${fakeMicWav}%noloop`);
  return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
}

/**
 * A fake-mic WAV at 48 kHz from FSDD clips: lead-in silence, the clips with gaps, trailing silence.
 * Silence is a little noise rather than digital zero, like a real room (the VAD tracks a noise floor).
 */
export function makeMicWav(clips: string[], out: string, opts: { lead?: number; gap?: number; tail?: number } = {}): string {
  const { lead = 0.8, gap = 0.7, tail = 1.5 } = opts;
  mkdirSync(join(ARTIFACTS, 'mic'), { recursive: true });
  const parts: string[] = [];
  clips.forEach((clip, i) => {
    const p = join(ARTIFACTS, 'mic', `part-${i}-${out.replace(/\W/g, '_')}.wav`);
    execFileSync('sox', ['-R', clip, '-r', '48000', '-b', '16', '-c', '1', p, 'pad', String(i === 0 ? lead : gap / 2), String(i === clips.length - 1 ? tail : gap / 2)]);
    parts.push(p);
  });
  const joined = join(ARTIFACTS, 'mic', `joined-${out}`);
  const file = join(ARTIFACTS, 'mic', out);
  if (parts.length === 1) execFileSync('cp', [parts[0], joined]);
  else execFileSync('sox', ['-R', ...parts, joined]);
  // Mix in quiet white noise (-60 dBFS) over the whole file.
  const seconds = Number(execFileSync('soxi', ['-D', joined]).toString().trim());
  const noise = join(ARTIFACTS, 'mic', `noise-${out}`);
  execFileSync('sox', ['-R', '-n', '-r', '48000', '-b', '16', '-c', '1', noise, 'synth', String(seconds), 'whitenoise', 'vol', '0.001']);
  execFileSync('sox', ['-R', '-m', joined, noise, file]);
  return file;
}

/**
 * Lead-in silence for pages that open the microphone while they load (`listen=1`, kiosk mode).
 * Chromium's fake device plays its file from when getUserMedia opens it, and what it captures
 * before the page's audio graph is connected is gone (as with a real microphone): on a busy
 * machine that took over 2 s once, so the first digit comes after a lead longer than that.
 */
export const AUTO_LISTEN_LEAD = 3;

/** Where each clip of makeMicWav(clips, _, opts) lies in the fake microphone's stream, in seconds. */
export function micWavSpans(clips: string[], opts: { lead?: number; gap?: number } = {}): [number, number][] {
  const { lead = 0.8, gap = 0.7 } = opts;
  let t = lead;
  return clips.map((clip) => {
    const seconds = Number(execFileSync('soxi', ['-D', clip]).toString().trim());
    const span: [number, number] = [t, t + seconds];
    t += seconds + gap;
    return span;
  });
}

export interface Probe {
  ready: boolean;
  modelLoadedMs: number | null;
  firstResultMs: number | null;
  /** `span`: a microphone result's speech in the stream's timeline (ms from its first block). */
  results: { digit: number | null; candidate: number; confidence: number; computeMs: number; latencyMs: number | null; source: string; span?: [number, number] }[];
  errors: string[];
  micState: string;
  /** Seconds of audio the current microphone stream has delivered. */
  micSeconds: number;
  /** Continuous mode's digit strings, each closed by a pause. */
  strings: string[];
  /** Speaker adaptation: on or off, the voice shift in use, the digits it rests on. */
  voice: { adapting: boolean; factor: number; utterances: number };
  /** Normalization adaptation: on (and possible with the model), digits observed, digits the adaptation in use rests on, last change a drop, digit share lately. */
  norm: { adapting: boolean; available: boolean; observed: number; adaptedOn: number; dropped: boolean; digitShare: number; selfEnrolled: boolean; inWorker: boolean; stopped: boolean };
  /** "My voice": the words heard while counting ([digit it should be, heard]), then the personal model's scores, or why it failed. */
  enrollment: {
    words: [number, number | null][];
    state: 'idle' | 'counting' | 'fitting' | 'done' | 'failed';
    voiceShift?: number;
    fit?: { before: { correct: number; clips: number }; after: { correct: number; clips: number } };
    crossCheck?: { folds: number; before: { correct: number }; after: { correct: number } } | null;
    error?: string;
  };
  /** The personal model the browser keeps (IndexedDB): whether there is one, and whether it is the page's model. */
  personalModel: { stored: boolean; inUse: boolean; base?: string };
}

export async function probe(page: Page): Promise<Probe> {
  return page.evaluate(() => (window as unknown as { __digits: Probe }).__digits);
}

/**
 * For a continuous-mode assertion message: what the page heard where (each result's digit, confidence and
 * speech span in s), where the clips lie in the fake microphone's file, and how much audio the microphone
 * delivered against the wall time since it opened. Where the page heard each digit (its stream starts at
 * its first block) against where it is in the file: a constant shift is audio lost before the first
 * block, a growing one audio lost between blocks; delivered audio short of the wall time is the latter too.
 */
export async function diagnoseStream(page: Page, spans: [number, number][]): Promise<string> {
  const p = await probe(page);
  const delivered = await page.evaluate(() => {
    const d = (window as unknown as { __digits: { micOnMs: number | null; micSeconds: number } }).__digits;
    return { micSeconds: +d.micSeconds.toFixed(2), wallSeconds: +((performance.now() - (d.micOnMs ?? 0)) / 1000).toFixed(2) };
  });
  const heard = p.results.map((r) => [r.digit, +r.confidence.toFixed(2), r.span?.map((ms) => +(ms / 1000).toFixed(2))]);
  return `results [digit, confidence, span s] ${JSON.stringify(heard)}; clips in the file ${JSON.stringify(spans.map(([a, b]) => [+a.toFixed(2), +b.toFixed(2)]))}; audio ${JSON.stringify(delivered)}`;
}

export async function waitReady(page: Page, timeoutMs = 30000): Promise<void> {
  await page.waitForFunction(() => {
    const p = (window as unknown as { __digits?: Probe }).__digits;
    return p && (p.ready || p.errors.length > 0);
  }, undefined, { timeout: timeoutMs });
  const p = await probe(page);
  if (p.errors.length) throw new Error(`page failed to start: ${p.errors.join('; ')}`);
}

export async function waitResults(page: Page, n: number, timeoutMs = 20000): Promise<Probe> {
  await page
    .waitForFunction((k) => ((window as unknown as { __digits: Probe }).__digits.results.length >= k), n, { timeout: timeoutMs })
    .catch(() => undefined);
  return probe(page);
}

/** What a first visit puts on the wire: every response (compressed body + headers), the page's and its service worker's. */
export interface FirstVisit {
  /** All bytes received, the service worker's precache included. */
  totalBytes: number;
  /** Of those, what the service worker fetched itself (files the page had not loaded, e.g. the adaptation worker). */
  serviceWorkerBytes: number;
  /** Every origin a request went to ('data:' for inline data). */
  origins: string[];
  /** The largest responses. */
  files: { url: string; bytes: number; encoding: string; by: 'page' | 'service worker' }[];
}

/**
 * Opens `url` in a fresh context of `browser` and measures the download until the page is ready and
 * its service worker has installed (its precache filled) and cached the model: what a visitor's
 * first load costs before the app works offline.
 */
export async function measureFirstVisit(browser: Browser, url: string): Promise<FirstVisit> {
  const context = await browser.newContext();
  const files: FirstVisit['files'] = [];
  const origins = new Set<string>();
  const pending: Promise<void>[] = [];
  context.on('request', (req) => origins.add(req.url().startsWith('data:') ? 'data:' : new URL(req.url()).origin));
  context.on('requestfinished', (req) => {
    pending.push(
      (async () => {
        const sizes = await req.sizes().catch(() => undefined);
        const res = await req.response().catch(() => null);
        if (!sizes || !res || req.url().startsWith('data:')) return;
        files.push({
          url: new URL(req.url()).pathname,
          bytes: sizes.responseBodySize + sizes.responseHeadersSize,
          encoding: (await res.allHeaders())['content-encoding'] ?? '',
          by: req.serviceWorker() ? 'service worker' : 'page',
        });
      })(),
    );
  });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await waitReady(page);
    await page.waitForFunction(
      async () => {
        const sw = await navigator.serviceWorker?.getRegistration();
        if (!sw?.active) return false;
        const models = await caches.open('sd-models');
        return (await models.keys()).length >= 2;
      },
      undefined,
      { timeout: 30000, polling: 200 },
    );
    // The service worker's own requests are reported late: wait until a second passes without one.
    let seen = -1;
    while (seen !== pending.length) {
      seen = pending.length;
      await page.waitForTimeout(1000);
    }
    await Promise.all(pending);
  } finally {
    await context.close();
  }
  const sum = (xs: FirstVisit['files']) => xs.reduce((a, f) => a + f.bytes, 0);
  return {
    totalBytes: sum(files),
    serviceWorkerBytes: sum(files.filter((f) => f.by === 'service worker')),
    origins: [...origins],
    files: files.sort((a, b) => b.bytes - a.bytes).slice(0, 8),
  };
}
