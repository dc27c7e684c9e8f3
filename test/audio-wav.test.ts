import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav, readWav, readWavFileSync, readWavFile, readWavFileInfo, openWavStream, streamWavFile } from '../src/audio/index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wav');
const fixture = (name: string): string => path.join(dir, name);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('audio: WAV fixtures made with sox from an FSDD clip', () => {
  const ref = readWavFileSync(fixture('s16.wav'));

  it('reads the 16-bit original: 8 kHz mono, 0.3 s, speech-level samples', () => {
    assert.equal(ref.sampleRate, 8000);
    assert.equal(ref.channels, 1);
    assert.equal(ref.bitsPerSample, 16);
    assert.equal(ref.format, 'pcm');
    assert.equal(ref.samples.length, 2400);
    assert.ok(Math.abs(ref.durationSec - 0.3) < 1e-9);
    const peak = ref.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(peak > 0.05 && peak <= 1, `peak ${peak}`);
  });

  // sox converts losslessly up (24/32-bit, float) and with known quantisation down (8-bit, G.711).
  const cases: Array<[string, Partial<{ format: string; bits: number; channels: number }>, number]> = [
    ['s24-extensible.wav', { format: 'pcm', bits: 24 }, 0],
    ['s32.wav', { format: 'pcm', bits: 32 }, 0],
    ['f32.wav', { format: 'float', bits: 32 }, 0],
    ['f64.wav', { format: 'float', bits: 64 }, 0],
    ['stereo.wav', { format: 'pcm', bits: 16, channels: 2 }, 0],
    ['six-channel.wav', { format: 'pcm', bits: 16, channels: 6 }, 1e-7],
    ['u8.wav', { format: 'pcm', bits: 8 }, 1 / 128 + 1e-6],
    ['alaw.wav', { format: 'alaw', bits: 8 }, 0.02],
    ['mulaw.wav', { format: 'mulaw', bits: 8 }, 0.02],
  ];
  for (const [name, want, tol] of cases) {
    it(`${name} decodes to the original within ${tol}`, () => {
      const d = readWavFileSync(fixture(name));
      if (want.format) assert.equal(d.format, want.format);
      if (want.bits) assert.equal(d.bitsPerSample, want.bits);
      assert.equal(d.channels, want.channels ?? 1);
      assert.equal(d.sampleRate, 8000);
      assert.ok(maxAbsDiff(d.samples, ref.samples) <= tol);
    });
  }

  it('A-law and mu-law decode exactly as sox expands them to 16-bit', () => {
    for (const law of ['alaw', 'mulaw']) {
      const ours = readWavFileSync(fixture(`${law}.wav`)).samples;
      const sox = readWavFileSync(fixture(`${law}-as-s16.wav`)).samples;
      assert.equal(maxAbsDiff(ours, sox), 0, law);
    }
  });

  it('stereo with different channels is averaged to mono', () => {
    const d = readWavFileSync(fixture('stereo-mixed.wav'));
    const u8 = readWavFileSync(fixture('u8.wav')).samples;
    assert.equal(d.channels, 2);
    const expected = ref.samples.map((v, i) => (v + u8[i]) / 2);
    assert.ok(maxAbsDiff(d.samples, expected) < 1 / 32768 + 1e-6);
  });

  it('keeps other rates as they are (44.1 kHz, 96 kHz 24-bit): resampling is the DSP core job', () => {
    const a = readWavFileSync(fixture('r44100.wav'));
    assert.equal(a.sampleRate, 44100);
    assert.ok(Math.abs(a.durationSec - 0.3) < 1e-3);
    const b = readWavFileSync(fixture('r96000-s24.wav'));
    assert.equal(b.sampleRate, 96000);
    assert.equal(b.bitsPerSample, 24);
  });

  it('Buffer, ArrayBuffer, sync and async file reads agree', async () => {
    const bytes = fs.readFileSync(fixture('f32.wav'));
    const fromBuf = decodeWav(bytes).samples;
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    assert.equal(maxAbsDiff(decodeWav(ab).samples, fromBuf), 0);
    assert.equal(maxAbsDiff((await readWavFile(fixture('f32.wav'))).samples, fromBuf), 0);
    assert.equal(maxAbsDiff(readWav(fixture('f32.wav')).samples, fromBuf), 0);
    assert.equal(maxAbsDiff(readWav(bytes).samples, fromBuf), 0);
  });

  it('readWavFileInfo reads only the header', () => {
    const info = readWavFileInfo(fixture('s24-extensible.wav'));
    assert.equal(info.extensible, true);
    assert.equal(info.frames, 2400);
    assert.equal(info.truncated, false);
  });

  it('streams blocks that concatenate to the whole-file decode', async () => {
    for (const name of ['s16.wav', 'six-channel.wav', 'r44100.wav']) {
      const whole = readWavFileSync(fixture(name)).samples;
      const parts: Float32Array[] = [];
      let expectStart = 0;
      for await (const block of streamWavFile(fixture(name), { blockFrames: 1000 })) {
        assert.equal(block.startFrame, expectStart);
        assert.ok(block.samples.length <= 1000);
        expectStart += block.samples.length;
        parts.push(block.samples);
      }
      const joined = new Float32Array(expectStart);
      let o = 0;
      for (const p of parts) joined.set(p, (o += p.length) - p.length);
      assert.equal(maxAbsDiff(joined, whole), 0, name);
    }
  });

  it('a stream closed early stops and releases the file', async () => {
    const file = fs.realpathSync(fixture('r44100.wav'));
    // This process's descriptors open on the file (other tests' pipes and sockets come and go meanwhile).
    const onFile = () =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false; // closed while listed
        }
      }).length;
    const before = onFile();
    const s = await openWavStream(file, { blockFrames: 256 });
    assert.equal(onFile(), before + 1);
    let n = 0;
    for await (const _ of s) if (++n === 2) break;
    assert.equal(n, 2);
    assert.equal(onFile(), before, 'leaving the loop early closed the file');
    await s.close(); // idempotent
    assert.equal(onFile(), before);
  });

  it('close() while a read is in flight ends the stream cleanly (no EBADF)', async () => {
    for (let k = 0; k < 20; k++) {
      const s = await openWavStream(fixture('r44100.wav'), { blockFrames: 64 });
      const it = s[Symbol.asyncIterator]();
      assert.equal((await it.next()).done, false);
      const pending = it.next(); // a read is now in flight
      await s.close();
      await pending; // resolves (a last block or done), never rejects
      assert.equal((await it.next()).done, true);
    }
  });
});
