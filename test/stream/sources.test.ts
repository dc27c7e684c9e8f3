import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { readWavFileSync } from '../../src/audio/index.js';
import { AudioInputError } from '../../src/errors.js';
import { openFileSource, openReadableSource, type AudioSource } from '../../src/stream/index.js';
import { FSDD_DIR, concatFloat } from './fixtures.js';

const CLIP = join(FSDD_DIR, '7_lucas_2.wav');

async function drain(source: AudioSource): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const b of source) parts.push(b.slice());
  return concatFloat(parts);
}

/** The bytes in chunks of awkward sizes, as pipes deliver them. */
function chunked(bytes: Buffer, sizes = [1, 3, 1000, 7, 4096]): Readable {
  const parts: Buffer[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) {
    const n = sizes[k % sizes.length];
    parts.push(bytes.subarray(i, i + n));
    i += n;
  }
  return Readable.from(parts);
}

describe('stream sources', () => {
  const wav = readWavFileSync(CLIP);
  const fileBytes = readFileSync(CLIP);
  const pcm = fileBytes.subarray(44); // FSDD: canonical 44-byte header, s16le mono

  it('raw s16le on a Readable, split at odd byte boundaries, gives the WAV decoder\'s samples', async () => {
    const src = await openReadableSource(chunked(Buffer.from(pcm)), { sampleRate: 8000 });
    assert.equal(src.sampleRate, 8000);
    assert.deepEqual(await drain(src), wav.samples);
  });

  it('WAVs one after another on a stream (cat a.wav b.wav |) are heard one after another; chunks between them are skipped', async () => {
    const other = readFileSync(join(FSDD_DIR, '3_theo_7.wav'));
    const otherSamples = readWavFileSync(join(FSDD_DIR, '3_theo_7.wav')).samples;
    for (const sizes of [[1 << 20], [1, 3, 1000, 7, 4096]]) {
      assert.deepEqual(await drain(await openReadableSource(chunked(Buffer.concat([fileBytes, other]), sizes), {}, 'stdin')), concatFloat([wav.samples, otherSamples]), `cut ${sizes}`);
    }
    // A data chunk of odd size (a stray byte and the pad byte after it), then a LIST chunk, then the next WAV.
    const odd = Buffer.concat([fileBytes, Buffer.from([0x55, 0x00])]);
    odd.writeUInt32LE(pcm.length + 1, 40);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([4, 0, 0, 0]), Buffer.from('INFO')]);
    assert.deepEqual(await drain(await openReadableSource(chunked(Buffer.concat([odd, list, other])), {}, 'stdin')), concatFloat([wav.samples, otherSamples]));
    // A chunk larger than a read (cover art, a long LIST) is skipped across reads; so is a pad byte that
    // arrives in the next read; and a writer's left-out pad byte does not lose the next WAV.
    const bigList = Buffer.concat([Buffer.from('LIST'), Buffer.alloc(4), Buffer.alloc(100_000, 0x41)]);
    bigList.writeUInt32LE(100_000, 4);
    const noPad = Buffer.concat([fileBytes, Buffer.from([0x55])]);
    noPad.writeUInt32LE(pcm.length + 1, 40);
    for (const [stream, what] of [
      [Buffer.concat([fileBytes, bigList, other]), 'a 100 kB LIST chunk'],
      [Buffer.concat([odd, list, other]), 'an odd data chunk'],
      [Buffer.concat([noPad, other]), 'no pad byte'],
    ] as const) {
      for (const sizes of [[4096], [fileBytes.length + 1, 1, 4096], [fileBytes.length, 1, 1, 5000]]) {
        assert.deepEqual(await drain(await openReadableSource(chunked(stream, sizes), {}, 'stdin')), concatFloat([wav.samples, otherSamples]), `${what}, cut ${sizes}`);
      }
    }
    // Bytes after the data that are no chunk (a data size that lied short) are let go, as in a file.
    assert.deepEqual(await drain(await openReadableSource(Readable.from([Buffer.concat([fileBytes, Buffer.from([0xff, 0x00, 0x81, 0x12, 0x00, 0x80, 0x01, 0x02, 0x03])])]), {}, 'stdin')), wav.samples);
    // One stream has one rate.
    const at16k = Buffer.from(other);
    at16k.writeUInt32LE(16000, 24);
    at16k.writeUInt32LE(32000, 28);
    await assert.rejects(async () => drain(await openReadableSource(Readable.from([fileBytes, at16k]), {}, 'stdin')), /the next WAV on it is 16000 Hz, the first was 8000 Hz/);
  });

  it('f32le stereo is downmixed', async () => {
    const buf = Buffer.alloc(wav.samples.length * 8);
    wav.samples.forEach((v, i) => {
      buf.writeFloatLE(v, i * 8);
      buf.writeFloatLE(v, i * 8 + 4);
    });
    const got = await drain(await openReadableSource(chunked(buf), { sampleRate: 8000, encoding: 'f32le', channels: 2 }));
    assert.equal(got.length, wav.samples.length);
    assert.ok(got.every((v, i) => Math.abs(v - wav.samples[i]) < 1e-6));
  });

  it('a WAV file piped in is recognised by its header (no --rate needed)', async () => {
    const src = await openReadableSource(chunked(fileBytes), {}, 'stdin');
    assert.equal(src.sampleRate, 8000);
    assert.deepEqual(await drain(src), wav.samples);
  });

  it('a WAV on a pipe is streamed as it arrives, not buffered to the end (arecord | digits listen --input -)', async () => {
    // A writer that cannot seek back leaves the sizes open: 0xFFFFFFFF (ffmpeg, arecord) or 0 (sox).
    for (const declared of [0xffffffff, 0]) {
      const header = Buffer.from(fileBytes.subarray(0, 44));
      header.writeUInt32LE(declared, 40);
      const pipe = new PassThrough();
      pipe.write(header);
      pipe.write(pcm.subarray(0, 1001)); // not a whole frame: the odd byte waits for the next chunk
      const src = await openReadableSource(pipe, {}, 'stdin');
      assert.equal(src.sampleRate, 8000);
      const it = src[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);
      assert.equal((first.value as Float32Array).length, 500, 'the samples that arrived, while the pipe stays open');
      pipe.end(pcm.subarray(1001));
      const rest: Float32Array[] = [first.value as Float32Array];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.slice());
      assert.deepEqual(concatFloat(rest), wav.samples);
    }
    // A declared size is kept to: what follows the data chunk (a LIST chunk) is not audio.
    const withTail = Buffer.concat([fileBytes, Buffer.from('LIST\x04\x00\x00\x00INFO')]);
    assert.deepEqual(await drain(await openReadableSource(chunked(withTail), {}, 'stdin')), wav.samples);
    // A big chunk before the samples (cover art, 2 MiB here) is waited for, as a file's is skipped.
    const junk = Buffer.alloc(8 + (2 << 20));
    junk.write('JUNK', 0, 'latin1');
    junk.writeUInt32LE(2 << 20, 4);
    const art = Buffer.concat([fileBytes.subarray(0, 36), junk, fileBytes.subarray(36)]);
    art.writeUInt32LE(art.length - 8, 4);
    assert.deepEqual(await drain(await openReadableSource(chunked(art, [65536, 1, 4093]), {}, 'stdin')), wav.samples);
    // A stream that ends inside the header says so, as the file would.
    await assert.rejects(openReadableSource(Readable.from([fileBytes.subarray(0, 30)]), {}, 'stdin'), (e: Error) => e instanceof Error && /the WAV on stdin/.test(e.message));
  });

  it('close() ends a source waiting on a quiet pipe at once, not when data next comes', async () => {
    const raw = { bytes: Buffer.from(pcm.subarray(0, 1600)), options: { sampleRate: 8000 } };
    const wavHead = { bytes: Buffer.concat([fileBytes.subarray(0, 44), pcm.subarray(0, 1600)]), options: {} };
    for (const { bytes, options } of [raw, wavHead]) {
      const pipe = new PassThrough();
      pipe.write(bytes);
      const src = await openReadableSource(pipe, options, 'stdin');
      const reading = drain(src);
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await src.close();
      await reading;
      assert.ok(performance.now() - t0 < 500, `close took ${performance.now() - t0} ms`);
      assert.equal(pipe.destroyed, true);
    }
  });

  it('refuses text, other containers, empty input and raw PCM without a rate', async () => {
    const text = Buffer.from('0 1 2 3 4 5 6 7 8 9\n'.repeat(20));
    await assert.rejects(openReadableSource(Readable.from([text]), { sampleRate: 8000 }, 'stdin'), (e: Error) => e instanceof AudioInputError && /stdin is text/.test(e.message));
    // Shorter than the usual look (64 bytes) when it is all there is: `echo hello | digits listen --input - --rate 8000`.
    await assert.rejects(openReadableSource(Readable.from([Buffer.from('hello\n')]), { sampleRate: 8000 }, 'stdin'), /stdin is text/);
    // Judged on the first 64 bytes however the reads cut them: text with binary after it is text in one read or in many
    // (the WAV stream fuzz loop's finding: refused when 64 bytes came first, heard as audio when all came at once).
    const textThenBinary = Buffer.concat([text.subarray(0, 70), Buffer.from([0xbb, 0x8a, 0x27, 0x17, 0xa5, 0xe2])]);
    for (const reads of [[textThenBinary], [textThenBinary.subarray(0, 64), textThenBinary.subarray(64)]]) {
      await assert.rejects(openReadableSource(Readable.from(reads), { sampleRate: 8000 }, 'stdin'), /stdin is text/, `${reads.length} reads`);
    }
    // The start of a WAV and nothing more is a cut WAV, not text.
    await assert.rejects(openReadableSource(Readable.from([Buffer.from('RIFF')]), {}, 'stdin'), /stdin ended inside a WAV header \(4 bytes/);
    await assert.rejects(openReadableSource(Readable.from([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00junkjunkjunk')]), { sampleRate: 8000 }), /looks like MP3/);
    await assert.rejects(openReadableSource(Readable.from([]), { sampleRate: 8000 }, 'stdin'), /stdin closed without sending any audio/);
    await assert.rejects(openReadableSource(chunked(Buffer.from(pcm)), {}, 'stdin'), /needs its sample rate/);
    await assert.rejects(openReadableSource(chunked(Buffer.from(pcm)), { sampleRate: 3 }), AudioInputError);
  });

  it('a stream it refuses after reading is let go (a pipe left open would keep the process alive)', async () => {
    const wavBytes = readFileSync(CLIP);
    for (const [bytes, options, refusal] of [
      [Buffer.from(pcm.buffer, pcm.byteOffset, 4000), {}, /needs its sample rate/],
      [Buffer.from('0 1 2 3 4 5 6 7 8 9\n'.repeat(20)), { sampleRate: 8000 }, /text/],
      [wavBytes.subarray(0, 4000), { sampleRate: 16000 }, /not the 16000 Hz asked for/],
      // A WAV says its own format: an encoding or channels given must be its own too.
      [wavBytes.subarray(0, 4000), { encoding: 'f32le' }, /is 16-bit pcm, not the f32le asked for/],
      [wavBytes.subarray(0, 4000), { channels: 2 }, /has 1 channel, not the 2 asked for/],
    ] as const) {
      const pipe = new PassThrough(); // written to and never ended, as a quiet stdin
      pipe.write(bytes);
      await assert.rejects(openReadableSource(pipe, options, 'stdin'), refusal);
      assert.ok(pipe.destroyed, String(refusal));
    }
    // Its own format given is no mistake.
    const same = await drain(await openReadableSource(Readable.from([wavBytes]), { sampleRate: 8000, encoding: 's16le', channels: 1 }, 'stdin'));
    assert.deepEqual(same, wav.samples);
  });

  it("a stream that fails (a reset socket) is the library's AudioInputError, before and after the first bytes", async () => {
    const failing = (after: Buffer[]) =>
      new Readable({
        highWaterMark: 1,
        read() {
          const next = after.shift();
          if (next) this.push(next);
          else this.destroy(new Error('socket reset'));
        },
      });
    const isReset = (e: unknown) => e instanceof AudioInputError && /the input stream failed: socket reset/.test((e as Error).message);
    await assert.rejects(openReadableSource(failing([]), { sampleRate: 8000 }), isReset);
    const twoBlocks = [Buffer.from(pcm.subarray(0, 4096)), Buffer.from(pcm.subarray(4096, 8192))];
    await assert.rejects(async () => drain(await openReadableSource(failing(twoBlocks), { sampleRate: 8000 })), isReset);
  });

  it('f32le that is really NaN garbage is an error, not silence', async () => {
    const buf = Buffer.alloc(4096);
    for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE(0x7fc00000 + i, i);
    const src = await openReadableSource(Readable.from([buf]), { sampleRate: 8000, encoding: 'f32le' });
    await assert.rejects(drain(src), /NaN, Inf or values far beyond full scale/);
    // The verdict is the bytes', not the pipe's: 80 NaN among 16,000 floats pass (zeroed) however they are
    // cut, even when one read holds nothing else; a stream that is mostly NaN fails from any cut.
    const floats = Buffer.alloc(16000 * 4);
    for (let i = 0; i < 16000; i++) floats.writeFloatLE(i >= 5000 && i < 5080 ? NaN : 0.1 * Math.sin(i / 7), i * 4);
    for (const sizes of [[floats.length], [20000, 320, 1000], [1, 3, 1000, 7, 4096]]) {
      const got = await drain(await openReadableSource(chunked(floats, sizes), { sampleRate: 8000, encoding: 'f32le' }));
      assert.equal(got.length, 16000, `cut ${sizes}`);
      assert.equal(got[5040], 0);
    }
    const mostlyNaN = Buffer.from(floats);
    for (let i = 0; i < 16000; i += 3) mostlyNaN.writeFloatLE(NaN, i * 4), i + 1 < 16000 && mostlyNaN.writeFloatLE(Infinity, (i + 1) * 4);
    for (const sizes of [[mostlyNaN.length], [1, 3, 1000, 7, 4096]]) {
      await assert.rejects(async () => drain(await openReadableSource(chunked(mostlyNaN, sizes), { sampleRate: 8000, encoding: 'f32le' })), /NaN, Inf or values far beyond/, `cut ${sizes}`);
    }
    // s16le read as f32le: NaN, Inf and huge values in a tenth or more of its floats, refused; and
    // a float stream scaled as integers (±32768), refused, not clamped into a square wave.
    const s16 = Buffer.alloc(16000 * 2);
    for (let i = 0; i < 16000; i++) s16.writeInt16LE(Math.round(8000 * Math.sin(i / 7) + 300 * Math.sin(i * 1.3)), i * 2);
    await assert.rejects(async () => drain(await openReadableSource(Readable.from([s16]), { sampleRate: 8000, encoding: 'f32le' })), /not f32le PCM/);
    const intScaled = Buffer.alloc(16000 * 4);
    for (let i = 0; i < 16000; i++) intScaled.writeFloatLE(8000 * Math.sin(i / 7), i * 4);
    await assert.rejects(async () => drain(await openReadableSource(Readable.from([intScaled]), { sampleRate: 8000, encoding: 'f32le' })), /not f32le PCM/);
    // A stray NaN as the very last value, after whole windows, is a stray too.
    const lastNaN = Buffer.alloc(8193 * 4);
    lastNaN.writeFloatLE(NaN, 8192 * 4);
    assert.equal((await drain(await openReadableSource(Readable.from([lastNaN]), { sampleRate: 8000, encoding: 'f32le' }))).length, 8193);
  });

  it('a file source delivers all samples, and at real time when asked', async () => {
    const fast = await openFileSource(CLIP);
    assert.deepEqual(await drain(fast), wav.samples);
    const t0 = performance.now();
    const rt = await drain(await openFileSource(CLIP, { realtime: true, blockMs: 20 }));
    const elapsed = performance.now() - t0;
    assert.deepEqual(rt, wav.samples);
    const duration = (wav.samples.length / 8000) * 1000;
    assert.ok(elapsed > duration * 0.8, `real-time playback took ${elapsed.toFixed(0)} ms for ${duration.toFixed(0)} ms of audio`);
  });

  it('a real-time file source delivers each block once its last sample would have been heard, not before', async () => {
    const src = await openFileSource(CLIP, { realtime: true, blockMs: 20 });
    src.setIdle!(false);
    const t0 = performance.now();
    let heard = 0;
    let earliest = Infinity;
    for await (const block of src) {
      heard += block.length;
      earliest = Math.min(earliest, performance.now() - t0 - (heard / 8000) * 1000);
    }
    assert.ok(earliest > -2, `a block came ${(-earliest).toFixed(1)} ms before its audio ended`);
  });

  it('a real-time file source wakes once per idlePollMs while idle, once per block while busy', async () => {
    const wakeups = async (idle: boolean) => {
      const src = await openFileSource(CLIP, { realtime: true, blockMs: 20, idlePollMs: 200 });
      if (!idle) src.setIdle!(false);
      let last = performance.now();
      let gaps = 0;
      for await (const _ of src) {
        const now = performance.now();
        if (now - last > 12) gaps++;
        last = now;
      }
      return gaps;
    };
    const duration = wav.samples.length / 8000; // 0.4 s: 20 blocks
    assert.ok((await wakeups(true)) <= Math.ceil(duration / 0.2) + 1);
    assert.ok((await wakeups(false)) >= (duration / 0.02) * 0.5);
    await assert.rejects(openFileSource(CLIP, { realtime: true, idlePollMs: 0 }), /idlePollMs must be in 1..1000/);
  });
});
