/**
 * Fuzz loop for the WAV decoder. The C++ core has no WAV/PCM parsing entry point (it takes float
 * samples), so the file-format attack surface is the TypeScript RIFF parser in src/audio/wav.ts;
 * libFuzzer cannot drive it, so this is a bounded, structure-aware mutation loop seeded from
 * native/fuzz/corpus/wav_decoder (FSDD clips and hand-made broken files).
 *
 * Mutations: byte flips and sets, truncation, random tails, 32-bit size fields set to edge values
 * (0, 1, 2^31-1, 2^32-1, off by one), chunk insertion/duplication, splicing two seeds.
 * Oracles per input: decodeWav either returns finite samples in [-1, 1], no more of them than the
 * input has bytes (nothing allocated from a declared size), agreeing with readWavInfo; or throws a
 * SpokenDigitsError whose message is one non-empty line. Every 16th input is also written to disk
 * and read with openWavStream; its blocks must equal decodeWav's samples (or fail the same way).
 * Every 16th input is also streamed through openReadableSource (the reader of `digits listen
 * --input -`: WAVs one after another, raw PCM otherwise), once in one read and once cut into
 * random reads: both must end alike (the same typed error, or none) with the same samples (before an
 * error, one run's begin the other's), finite and in [-1, 1], no more samples than bytes; a WAV that
 * decodeWav accepts must come out of it first, unchanged, whatever follows it.
 * A decode or a stream slower than 2 s counts as a hang.
 *
 *   node --import tsx native/fuzz/wav-decoder.fuzz.ts --seconds 60 --corpus DIR --artifacts DIR
 *   node --import tsx native/fuzz/wav-decoder.fuzz.ts --regress --corpus DIR   (replay seeds only)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import inspector from 'node:inspector/promises';
import { Readable } from 'node:stream';
import { decodeWav, openWavStream, readWavInfo } from '../../src/audio/wav.js';
import { SpokenDigitsError } from '../../src/errors.js';
import { openReadableSource, type RawPcmOptions } from '../../src/stream/sources.js';
import { mulberry32 } from '../../src/train/random.js';

interface Args {
  seconds: number;
  regress: boolean;
  corpus: string;
  artifacts: string;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 60, regress: false, corpus: 'native/fuzz/corpus/wav_decoder', artifacts: 'build/fuzz/artifacts', seed: Date.now() };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--regress') a.regress = true;
    else if (k === '--seconds') a.seconds = Number(argv[++i]);
    else if (k === '--corpus') a.corpus = argv[++i];
    else if (k === '--artifacts') a.artifacts = argv[++i];
    else if (k === '--seed') a.seed = Number(argv[++i]);
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const EDGE_U32 = [0, 1, 2, 3, 4, 8, 16, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 44];

function mutate(seeds: Buffer[], r: () => number): Buffer {
  const int = (n: number): number => Math.floor(r() * n);
  let b = Buffer.from(seeds[int(seeds.length)]);
  const rounds = 1 + int(4);
  for (let k = 0; k < rounds; k++) {
    switch (int(8)) {
      case 0: // flip bits
        if (b.length) b[int(b.length)] ^= 1 << int(8);
        break;
      case 1: // set a byte
        if (b.length) b[int(b.length)] = int(256);
        break;
      case 2: // truncate
        b = b.subarray(0, int(b.length + 1));
        break;
      case 3: // random tail
        b = Buffer.concat([b, Buffer.from(Array.from({ length: int(64) }, () => int(256)))]);
        break;
      case 4: // a 32-bit field (chunk sizes, rates) set to an edge value, or nudged by one
        if (b.length >= 4) {
          const at = r() < 0.6 ? [4, 16, 24, 28, 40].map((o) => Math.min(o, b.length - 4))[int(5)] : int(b.length - 3);
          const v = r() < 0.7 ? EDGE_U32[int(EDGE_U32.length)] : (b.readUInt32LE(at) + (r() < 0.5 ? 1 : -1)) >>> 0;
          b.writeUInt32LE(v >>> 0, at);
        }
        break;
      case 5: // 16-bit field (format tag, channels, bits)
        if (b.length >= 2) b.writeUInt16LE([0, 1, 3, 6, 7, 0xfffe, 0xffff, 2, 24, 64][int(10)], Math.min([20, 22, 32, 34][int(4)], b.length - 2));
        break;
      case 6: { // insert a chunk (odd sizes exercise padding)
        const size = int(20);
        const id = ['LIST', 'cue ', 'fact', 'data', 'fmt ', 'JUNK'][int(6)];
        const c = Buffer.alloc(8 + size + (size % 2));
        c.write(id, 0, 'latin1');
        c.writeUInt32LE(r() < 0.8 ? size : EDGE_U32[int(EDGE_U32.length)], 4);
        const at = Math.min(12 + 2 * int(20), b.length);
        b = Buffer.concat([b.subarray(0, at), c, b.subarray(at)]);
        break;
      }
      default: { // splice with another seed
        const o = seeds[int(seeds.length)];
        const cut = int(b.length + 1);
        b = Buffer.concat([b.subarray(0, cut), o.subarray(int(o.length + 1))]);
      }
    }
  }
  return b;
}

class Finding extends Error {}

function checkTyped(err: unknown, what: string): string {
  if (!(err instanceof SpokenDigitsError)) {
    throw new Finding(`${what} threw an untyped ${err instanceof Error ? err.constructor.name : typeof err}: ${String(err)}`);
  }
  if (!err.message || err.message.includes('\n')) throw new Finding(`${what}: error message is empty or multi-line: ${JSON.stringify(err.message)}`);
  return err.code;
}

/** Returns the decoded samples or the error code; throws Finding on anything else. */
function checkDecode(b: Buffer): Float32Array | string {
  let infoFrames: number | undefined;
  let infoCode: string | undefined;
  try {
    const info = readWavInfo(b);
    infoFrames = info.frames;
    if (!(info.dataBytes <= b.length)) throw new Finding(`readWavInfo says ${info.dataBytes} data bytes in a ${b.length}-byte input`);
  } catch (e) {
    if (e instanceof Finding) throw e;
    infoCode = checkTyped(e, 'readWavInfo');
  }
  const t0 = performance.now();
  let out: Float32Array | string;
  try {
    const d = decodeWav(b);
    if (d.samples.length > b.length) throw new Finding(`${d.samples.length} samples from ${b.length} bytes`);
    for (let i = 0; i < d.samples.length; i++) {
      const v = d.samples[i];
      if (!(v >= -1 && v <= 1)) throw new Finding(`sample ${i} is ${v}`);
    }
    if (infoCode !== undefined) throw new Finding(`readWavInfo refused (${infoCode}) what decodeWav accepted`);
    if (infoFrames !== d.samples.length) throw new Finding(`readWavInfo says ${infoFrames} frames, decodeWav gave ${d.samples.length}`);
    out = d.samples;
  } catch (e) {
    if (e instanceof Finding) throw e;
    out = checkTyped(e, 'decodeWav');
  }
  const ms = performance.now() - t0;
  if (ms > 2000) throw new Finding(`decodeWav took ${ms.toFixed(0)} ms on ${b.length} bytes`);
  return out;
}

async function checkStream(b: Buffer, expected: Float32Array | string, tmp: string): Promise<void> {
  fs.writeFileSync(tmp, b);
  const parts: Float32Array[] = [];
  try {
    const s = await openWavStream(tmp, { blockFrames: 97 });
    for await (const block of s) parts.push(block);
  } catch (e) {
    const code = checkTyped(e, 'openWavStream');
    // The streaming reader has no duration limit, so only a header error is comparable.
    if (typeof expected !== 'string') throw new Finding(`openWavStream refused (${code}) what decodeWav accepted`);
    return;
  }
  if (typeof expected === 'string') {
    if (expected === 'ERR_WAV_FORMAT') throw new Finding(`openWavStream accepted what decodeWav refused (${expected})`);
    return;
  }
  const n = parts.reduce((a, p) => a + p.length, 0);
  if (n !== expected.length) throw new Finding(`stream gave ${n} samples, decodeWav ${expected.length}`);
  let i = 0;
  for (const p of parts) for (const v of p) if (!Object.is(v, expected[i++])) throw new Finding(`stream sample ${i - 1} differs`);
}

/** What openReadableSource makes of `b` delivered in `reads`: the samples it gave, and the typed error's code if one ended it. */
async function streamed(b: Buffer, reads: Buffer[], options: RawPcmOptions): Promise<{ samples: Float32Array; error: string | null }> {
  const parts: Float32Array[] = [];
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Finding(`openReadableSource took over 2 s on ${b.length} bytes in ${reads.length} reads`)), 2000);
  });
  const read = (async () => {
    const source = await openReadableSource(Readable.from(reads, { objectMode: false }), options);
    for await (const block of source) parts.push(block);
  })();
  let error: string | null = null;
  try {
    await Promise.race([read, hang]);
  } catch (e) {
    if (e instanceof Finding) throw e;
    error = checkTyped(e, 'openReadableSource');
  } finally {
    clearTimeout(timer);
  }
  const samples = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  if (samples.length > b.length) throw new Finding(`openReadableSource gave ${samples.length} samples from ${b.length} bytes`);
  for (let i = 0; i < samples.length; i++) if (!(samples[i] >= -1 && samples[i] <= 1)) throw new Finding(`openReadableSource sample ${i} is ${samples[i]}`);
  return { samples, error };
}

const sameSamples = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

async function checkReadable(b: Buffer, expected: Float32Array | string, r: () => number): Promise<void> {
  // As a WAV says its own format, or as raw PCM (which a stream that is no WAV must be) of a given kind.
  const raw = r() < 0.5;
  const options: RawPcmOptions = raw ? { sampleRate: 8000, encoding: r() < 0.5 ? 's16le' : 'f32le', channels: 1 + Math.floor(r() * 2) } : {};
  const whole = await streamed(b, [b], options);
  const reads: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const n = 1 + Math.floor(r() * (r() < 0.5 ? 8 : 400));
    reads.push(b.subarray(at, at + n));
    at += n;
  }
  const cut = await streamed(b, reads, options);
  const show = (v: { samples: Float32Array; error: string | null }) => `${v.samples.length} samples${v.error ? ` then ${v.error}` : ''}`;
  // The same error, and the same samples; before an error, as many as the reads let through before it (the
  // blocks before a bad one are heard when it comes later), so one run's samples begin the other's.
  const [fewer, more] = whole.samples.length <= cut.samples.length ? [whole.samples, cut.samples] : [cut.samples, whole.samples];
  const agree = whole.error === null ? sameSamples(whole.samples, cut.samples) : sameSamples(fewer, more.subarray(0, fewer.length));
  if (whole.error !== cut.error || !agree) {
    throw new Finding(`openReadableSource ${JSON.stringify(options)}: ${show(whole)} in one read, ${show(cut)} in ${reads.length}`);
  }
  // A WAV decodeWav takes is heard from a stream too, first and unchanged, whatever follows it (a next WAV with a
  // broken header may end the stream after it).
  if (!raw && typeof expected !== 'string' && !sameSamples(whole.samples.subarray(0, expected.length), expected)) {
    throw new Finding(`openReadableSource's first WAV is not decodeWav's: ${show(whole)}, decodeWav ${expected.length} samples`);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const names = fs.readdirSync(args.corpus).sort();
  const seeds = names.map((n) => fs.readFileSync(path.join(args.corpus, n)));
  if (seeds.length === 0) throw new Error(`no seeds in ${args.corpus}`);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-fuzz-'));
  const tmp = path.join(tmpDir, 'input.wav');
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

  // Seeded so a run is reproducible from its printed seed.
  const r = mulberry32(args.seed);
  const outcomes = new Map<string, number>();
  let execs = 0;
  let input: Buffer = Buffer.alloc(0);
  const t0 = performance.now();
  try {
    const inputs: Iterator<Buffer> = args.regress
      ? seeds[Symbol.iterator]()
      : (function* () {
          while (performance.now() - t0 < args.seconds * 1000) yield mutate(seeds, r);
        })();
    for (let it = inputs.next(); !it.done; it = inputs.next()) {
      input = it.value;
      const res = checkDecode(input);
      const key = typeof res === 'string' ? res : 'ok';
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (execs % 16 === 0 || args.regress) await checkStream(input, res, tmp);
      if (execs % 16 === 8 || args.regress) await checkReadable(input, res, r);
      execs++;
    }
  } catch (e) {
    if (!(e instanceof Finding)) throw e;
    fs.mkdirSync(args.artifacts, { recursive: true });
    const file = path.join(args.artifacts, `wav_decoder-finding-${Date.now()}.wav`);
    fs.writeFileSync(file, input);
    console.error(`wav_decoder: FINDING after ${execs} inputs (seed ${args.seed}): ${e.message}\n  input written to ${file}`);
    process.exitCode = 1;
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  const secs = (performance.now() - t0) / 1000;
  // Block coverage of the decoder module, as V8 counts it (ranges with a non-zero count).
  const { result } = await session.post('Profiler.takePreciseCoverage');
  let covered = 0;
  let total = 0;
  for (const script of result) {
    if (!['src/audio/wav.ts', 'src/audio/pcm.ts', 'src/stream/sources.ts'].some((f) => script.url.includes(f))) continue;
    for (const fn of script.functions)
      for (const range of fn.ranges) {
        total++;
        if (range.count > 0) covered++;
      }
  }
  session.disconnect();
  const mix = [...outcomes].map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(
    `   ${process.exitCode ? 'FAIL' : 'ok '} wav_decoder: ${execs}/${Math.round(execs / secs)} execs/(execs/s), ` +
      `V8 blocks covered ${covered}/${total} (wav.ts+pcm.ts+stream/sources.ts); outcomes: ${mix}`,
  );
}

await main();
