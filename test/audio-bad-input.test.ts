import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioInputError, SpokenDigitsError, WavFormatError } from '../src/errors.js';
import { decodeWav, openWavStream, readWavFileSync, type DecodedAudio } from '../src/audio/index.js';
import { extensibleFmtBody, float32Body, fmtBody, int16Body, riff, type Chunk } from './fixtures/build-wav.js';

/*
 * The bad-input matrix: one generated file per case, each decoded from a Buffer, from a file and
 * through the streaming reader; each must give the named typed error (with a message that says
 * what is wrong) or the stated result. Nothing else — no crash, no RangeError, no hang.
 */

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wav');
const SAMPLES = [0, 1000, -1000, 32767, -32768, 12, -12, 5];
const fmt16 = (o: Parameters<typeof fmtBody>[0] = {}): Chunk => ({ id: 'fmt ', body: fmtBody(o) });
const data16 = (values = SAMPLES, extra: Partial<Chunk> = {}): Chunk => ({ id: 'data', body: int16Body(values), ...extra });
const good = (): Buffer => riff([fmt16(), data16()]);
const junk = (n: number, fill = 0x41): Uint8Array => new Uint8Array(n).fill(fill);
const expectSamples = (values: number[]) => (d: DecodedAudio) => assert.deepEqual([...d.samples], values.map((v) => v / 32768));

type Expect = { error: typeof WavFormatError | typeof AudioInputError; message: RegExp } | { check: (d: DecodedAudio) => void };
interface Case {
  name: string;
  bytes: () => Uint8Array;
  expect: Expect;
}

const cases: Case[] = [
  // truncation
  { name: 'empty file', bytes: () => new Uint8Array(0), expect: { error: WavFormatError, message: /empty/ } },
  { name: '3 bytes', bytes: () => Buffer.from('RIF'), expect: { error: WavFormatError, message: /truncated header/ } },
  { name: 'RIFF header cut at 10 bytes', bytes: () => good().subarray(0, 10), expect: { error: WavFormatError, message: /truncated header/ } },
  { name: 'RIFF/WAVE with no chunks', bytes: () => riff([]), expect: { error: WavFormatError, message: /no fmt chunk/ } },
  { name: 'fmt but no data chunk', bytes: () => riff([fmt16()]), expect: { error: WavFormatError, message: /no data chunk/ } },
  { name: 'cut inside the fmt chunk', bytes: () => good().subarray(0, 30), expect: { error: WavFormatError, message: /declares 16 bytes but only 10 remain/ } },
  { name: 'cut inside a chunk header', bytes: () => good().subarray(0, 40), expect: { error: WavFormatError, message: /no data chunk/ } },
  { name: 'cut inside the data: decodes the whole frames present', bytes: () => good().subarray(0, 44 + 7), expect: { check: (d) => { expectSamples(SAMPLES.slice(0, 3))(d); assert.equal(d.truncated, true); } } },
  // lying sizes, huge declared sizes
  { name: 'fmt chunk declares 1000 bytes', bytes: () => riff([{ ...fmt16(), declaredSize: 1000 }, data16()]), expect: { error: WavFormatError, message: /"fmt " .* declares 1000 bytes/ } },
  { name: 'fmt chunk shorter than 16 bytes', bytes: () => riff([{ id: 'fmt ', body: fmtBody({}).subarray(0, 14) }, data16()]), expect: { error: WavFormatError, message: /at least 16/ } },
  { name: 'LIST chunk declares 4 GB', bytes: () => riff([fmt16(), { id: 'LIST', body: junk(10), declaredSize: 0xfffffff0 }, data16()]), expect: { error: WavFormatError, message: /"LIST" .* declares 4294967280 bytes/ } },
  // A placeholder size (0xFFFFFFFF, 0x7FFFFFFF) is no promise of that much audio: the file is not called cut off.
  { name: 'data declares 0xFFFFFFFF (streaming writer)', bytes: () => riff([fmt16(), data16(SAMPLES, { declaredSize: 0xffffffff })]), expect: { check: (d) => { expectSamples(SAMPLES)(d); assert.equal(d.truncated, false); } } },
  { name: 'data declares 0x7FFFFFFF (streaming writer)', bytes: () => riff([fmt16(), data16(SAMPLES, { declaredSize: 0x7fffffff })]), expect: { check: (d) => { expectSamples(SAMPLES)(d); assert.equal(d.truncated, false); } } },
  { name: 'data declares 0 bytes with samples after it (a streaming writer never finalized the header)', bytes: () => riff([fmt16(), data16(SAMPLES, { declaredSize: 0 })]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'data declares 1 GB in a 60-byte file', bytes: () => riff([fmt16(), data16(SAMPLES, { declaredSize: 1 << 30 })]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'RIFF size 0 is ignored', bytes: () => Buffer.concat([riff([fmt16(), data16()], { riffSize: 0 })]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'RIFF size 0xFFFFFFFF', bytes: () => riff([fmt16(), data16()], { riffSize: 0xffffffff }), expect: { check: expectSamples(SAMPLES) } },
  { name: 'data declares fewer bytes than present: trailing bytes ignored', bytes: () => riff([fmt16(), data16(SAMPLES, { declaredSize: 4 })]), expect: { check: expectSamples(SAMPLES.slice(0, 2)) } },
  { name: 'empty data chunk', bytes: () => riff([fmt16(), data16([])]), expect: { error: AudioInputError, message: /no complete sample frame/ } },
  { name: 'data chunk with half a sample', bytes: () => riff([fmt16(), { id: 'data', body: junk(1) }]), expect: { error: AudioInputError, message: /no complete sample frame/ } },
  { name: 'stereo data with half a frame', bytes: () => riff([fmt16({ channels: 2 }), { id: 'data', body: int16Body([1, 2]).subarray(0, 3) }]), expect: { error: AudioInputError, message: /no complete sample frame/ } },
  { name: 'odd-length data: the partial sample is dropped', bytes: () => riff([fmt16(), { id: 'data', body: int16Body([100, 200]).subarray(0, 3) }]), expect: { check: expectSamples([100]) } },
  { name: '5000 tiny chunks before data', bytes: () => riff([fmt16(), ...Array.from({ length: 5000 }, () => ({ id: 'junk', body: new Uint8Array(0) })), data16()]), expect: { error: WavFormatError, message: /more than 4096 chunks/ } },
  // header values
  { name: 'zero channels', bytes: () => riff([fmt16({ channels: 0, blockAlign: 2 }), data16()]), expect: { error: WavFormatError, message: /zero channels/ } },
  { name: '33 channels', bytes: () => riff([fmt16({ channels: 33 }), data16()]), expect: { error: WavFormatError, message: /33 channels/ } },
  { name: '0 Hz', bytes: () => riff([fmt16({ rate: 0 }), data16()]), expect: { error: WavFormatError, message: /0 Hz/ } },
  { name: '1 GHz', bytes: () => riff([fmt16({ rate: 1_000_000_000 }), data16()]), expect: { error: WavFormatError, message: /1000000000 Hz/ } },
  { name: '3999 Hz (below the 4 kHz floor)', bytes: () => riff([fmt16({ rate: 3999 }), data16()]), expect: { error: WavFormatError, message: /4000\.\.384000 Hz/ } },
  { name: '384001 Hz (above the 384 kHz ceiling)', bytes: () => riff([fmt16({ rate: 384001 }), data16()]), expect: { error: WavFormatError, message: /384001 Hz/ } },
  { name: '4000 Hz accepted', bytes: () => riff([fmt16({ rate: 4000 }), data16()]), expect: { check: (d) => assert.equal(d.sampleRate, 4000) } },
  { name: '384000 Hz accepted', bytes: () => riff([fmt16({ rate: 384000 }), data16()]), expect: { check: (d) => assert.equal(d.sampleRate, 384000) } },
  { name: 'block align disagrees with channels x bytes', bytes: () => riff([fmt16({ blockAlign: 4 }), data16()]), expect: { error: WavFormatError, message: /block align 4/ } },
  { name: '0 bits per sample', bytes: () => riff([fmt16({ bits: 0, blockAlign: 0 }), data16()]), expect: { error: WavFormatError, message: /0 bits/ } },
  { name: '40-bit integer PCM', bytes: () => riff([fmt16({ bits: 40 }), { id: 'data', body: junk(10) }]), expect: { error: WavFormatError, message: /40 bits/ } },
  { name: '12-bit PCM in 16-bit containers is read as 16-bit', bytes: () => riff([fmt16({ bits: 12 }), data16([16, -16])]), expect: { check: expectSamples([16, -16]) } },
  { name: '16-bit float', bytes: () => riff([fmt16({ tag: 3, bits: 16 }), data16()]), expect: { error: WavFormatError, message: /IEEE float with 16 bits/ } },
  { name: 'A-law with 16 bits', bytes: () => riff([fmt16({ tag: 6, bits: 16 }), data16()]), expect: { error: WavFormatError, message: /A-law needs 8 bits/ } },
  { name: 'Microsoft ADPCM', bytes: () => riff([fmt16({ tag: 2, bits: 4, blockAlign: 1 }), data16()]), expect: { error: WavFormatError, message: /Microsoft ADPCM encoding is not supported.*sox/ } },
  { name: 'MP3 inside WAV', bytes: () => riff([fmt16({ tag: 0x55 }), data16()]), expect: { error: WavFormatError, message: /MP3 encoding is not supported/ } },
  { name: 'unknown format tag', bytes: () => riff([fmt16({ tag: 0x1234 }), data16()]), expect: { error: WavFormatError, message: /format tag 0x1234/ } },
  // extensible
  { name: 'extensible PCM 16', bytes: () => riff([{ id: 'fmt ', body: extensibleFmtBody({ subTag: 1 }) }, data16()]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'extensible float 32, stereo', bytes: () => riff([{ id: 'fmt ', body: extensibleFmtBody({ subTag: 3, bits: 32, channels: 2 }) }, { id: 'data', body: float32Body([0.5, -0.25, 1, 1]) }]), expect: { check: (d) => assert.deepEqual([...d.samples], [0.125, 1]) } },
  { name: 'extensible 20 valid bits in 24', bytes: () => riff([{ id: 'fmt ', body: extensibleFmtBody({ subTag: 1, bits: 24, validBits: 20 }) }, { id: 'data', body: Uint8Array.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]) }]), expect: { check: (d) => assert.deepEqual([...d.samples], [0.5, -0.5]) } },
  { name: 'extensible with a non-audio GUID', bytes: () => riff([{ id: 'fmt ', body: extensibleFmtBody({ subTag: 1, guidTail: Array(14).fill(7) }) }, data16()]), expect: { error: WavFormatError, message: /sub-format GUID/ } },
  { name: 'extensible fmt cut to 18 bytes', bytes: () => riff([{ id: 'fmt ', body: extensibleFmtBody({ subTag: 1 }).subarray(0, 18) }, data16()]), expect: { error: WavFormatError, message: /needs 40/ } },
  { name: 'extensible wrapping ADPCM', bytes: () => riff([{ id: 'fmt ', body: extensibleFmtBody({ subTag: 2 }) }, data16()]), expect: { error: WavFormatError, message: /ADPCM/ } },
  // chunk layout
  { name: 'LIST, cue and fact chunks before data', bytes: () => riff([fmt16(), { id: 'LIST', body: Buffer.from('INFOISFT\x06\x00\x00\x00sox\x00\x00\x00', 'latin1') }, { id: 'cue ', body: junk(28, 0) }, { id: 'fact', body: Uint8Array.from([8, 0, 0, 0]) }, data16()]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'chunks before fmt and after data', bytes: () => riff([{ id: 'bext', body: junk(20) }, fmt16(), data16(), { id: 'LIST', body: junk(12) }]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'odd-size chunk with its pad byte', bytes: () => riff([fmt16(), { id: 'LIST', body: junk(7) }, data16()]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'odd-size chunk missing its pad byte', bytes: () => riff([fmt16(), { id: 'LIST', body: junk(7), pad: false }, data16()]), expect: { check: expectSamples(SAMPLES) } },
  { name: 'odd-size chunk whose pad byte is non-zero', bytes: () => { const b = riff([fmt16(), { id: 'LIST', body: junk(7) }, data16()]); b[36 + 8 + 7] = 0x20; return b; }, expect: { check: expectSamples(SAMPLES) } },
  { name: 'data before fmt', bytes: () => riff([data16(), fmt16()]), expect: { error: WavFormatError, message: /before the fmt chunk/ } },
  { name: 'two fmt chunks', bytes: () => riff([fmt16(), fmt16(), data16()]), expect: { error: WavFormatError, message: /more than one fmt/ } },
  // not WAV at all
  { name: 'RIFX (big-endian)', bytes: () => riff([fmt16(), data16()], { magic: 'RIFX' }), expect: { error: WavFormatError, message: /big-endian/ } },
  { name: 'RF64', bytes: () => riff([fmt16(), data16()], { magic: 'RF64' }), expect: { error: WavFormatError, message: /RF64/ } },
  { name: 'RIFF AVI', bytes: () => riff([fmt16(), data16()], { form: 'AVI ' }), expect: { error: WavFormatError, message: /not WAVE/ } },
  { name: 'MP3 renamed .wav', bytes: () => Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), junk(100, 0xff)]), expect: { error: WavFormatError, message: /not a WAV file \(looks like an MP3 file\)/ } },
  { name: 'MP3 without an ID3 tag (a frame header: MPEG-1 layer III, 128 kbit/s, 44.1 kHz)', bytes: () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), junk(100)]), expect: { error: WavFormatError, message: /looks like an MP3 file/ } },
  { name: 'raw 16-bit PCM starting with -1 samples (MPEG sync bits, an invalid bitrate)', bytes: () => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), junk(100, 0)]), expect: { error: WavFormatError, message: /^(?![\s\S]*MP3)/ } },
  { name: 'raw 16-bit PCM starting with -1, 0 (MPEG sync bits, free-format bitrate)', bytes: () => Buffer.concat([Buffer.from([0xff, 0xff, 0x00, 0x00]), junk(100, 0)]), expect: { error: WavFormatError, message: /^(?![\s\S]*MP3)/ } },
  { name: 'FLAC renamed .wav', bytes: () => Buffer.concat([Buffer.from('fLaC'), junk(100)]), expect: { error: WavFormatError, message: /looks like a FLAC file/ } },
  { name: 'Ogg renamed .wav', bytes: () => Buffer.concat([Buffer.from('OggS'), junk(100)]), expect: { error: WavFormatError, message: /Ogg/ } },
  { name: 'M4A renamed .wav', bytes: () => Buffer.concat([Buffer.from('\x00\x00\x00\x20ftypM4A ', 'latin1'), junk(100)]), expect: { error: WavFormatError, message: /MP4\/M4A/ } },
  { name: 'ZIP archive renamed .wav', bytes: () => Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), junk(100)]), expect: { error: WavFormatError, message: /looks like a ZIP archive, not audio\)$/ } },
  { name: 'CSV with a byte-order mark and accents renamed .wav', bytes: () => Buffer.from('\ufeffnom,durée\nété,1\n', 'utf8'), expect: { error: WavFormatError, message: /looks like a text file, not audio\)$/ } },
  { name: 'HTML error page saved as .wav', bytes: () => Buffer.from('<!DOCTYPE html><html>404</html>'), expect: { error: WavFormatError, message: /looks like a text file/ } },
  { name: 'random bytes', bytes: () => Uint8Array.from({ length: 64 }, (_, i) => (i * 73 + 11) & 0xff), expect: { error: WavFormatError, message: /not a WAV file \(starts with .*ffmpeg -i in out.wav/ } },
  // sample values
  { name: 'NaN float sample', bytes: () => riff([fmt16({ tag: 3, bits: 32 }), { id: 'data', body: float32Body([0.1, NaN, 0.2]) }]), expect: { error: AudioInputError, message: /float sample 1 .* NaN/ } },
  { name: '+Infinity float sample', bytes: () => riff([fmt16({ tag: 3, bits: 32 }), { id: 'data', body: float32Body([Infinity]) }]), expect: { error: AudioInputError, message: /Infinity/ } },
  { name: '-Infinity in float64', bytes: () => { const b = Buffer.alloc(16); b.writeDoubleLE(0.5, 0); b.writeDoubleLE(-Infinity, 8); return riff([fmt16({ tag: 3, bits: 64 }), { id: 'data', body: b }]); }, expect: { error: AudioInputError, message: /-Infinity/ } },
  { name: 'float samples scaled as 16-bit integers (±32768)', bytes: () => riff([fmt16({ tag: 3, bits: 32 }), { id: 'data', body: float32Body([0.5, 12000, -30000]) }]), expect: { error: AudioInputError, message: /float sample 1 \(channel 0\) is 12000, far beyond full scale .*not scaled to ±1/ } },
  { name: 'float64 samples at 1e30', bytes: () => { const b = Buffer.alloc(16); b.writeDoubleLE(1e30, 0); b.writeDoubleLE(0, 8); return riff([fmt16({ tag: 3, bits: 64 }), { id: 'data', body: b }]); }, expect: { error: AudioInputError, message: /float sample 0 .* is 1e\+30, far beyond full scale/ } },
  { name: 'float samples over full scale (up to ±16) are clamped', bytes: () => riff([fmt16({ tag: 3, bits: 32 }), { id: 'data', body: float32Body([1.5, -3, 0.25, 16, -16]) }]), expect: { check: (d) => assert.deepEqual([...d.samples], [1, -1, 0.25, 1, -1]) } },
  { name: '8-bit unsigned extremes', bytes: () => riff([fmt16({ bits: 8 }), { id: 'data', body: Uint8Array.from([0, 128, 255]) }]), expect: { check: (d) => assert.deepEqual([...d.samples], [-1, 0, 127 / 128]) } },
  { name: '32-bit int extremes', bytes: () => { const b = Buffer.alloc(8); b.writeInt32LE(-2147483648, 0); b.writeInt32LE(1073741824, 4); return riff([fmt16({ bits: 32 }), { id: 'data', body: b }]); }, expect: { check: (d) => assert.deepEqual([...d.samples], [-1, 0.5]) } },
  { name: 'mu-law silence and extremes', bytes: () => riff([fmt16({ tag: 7, bits: 8 }), { id: 'data', body: Uint8Array.from([0xff, 0x00, 0x80]) }]), expect: { check: (d) => assert.deepEqual([...d.samples], [0, -32124 / 32768, 32124 / 32768]) } },
  { name: 'A-law extremes', bytes: () => riff([fmt16({ tag: 6, bits: 8 }), { id: 'data', body: Uint8Array.from([0xaa, 0x2a, 0xd5]) }]), expect: { check: (d) => assert.deepEqual([...d.samples], [32256 / 32768, -32256 / 32768, 8 / 32768]) } },
];

describe('audio: bad-input matrix (one generated file per case)', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-wav-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  cases.forEach((c, i) => {
    it(c.name, async () => {
      const bytes = c.bytes();
      const file = path.join(tmp, `case-${i}.wav`);
      fs.writeFileSync(file, bytes);
      const viaStream = async (): Promise<DecodedAudio> => {
        const s = await openWavStream(file, { blockFrames: 3 });
        const parts: number[] = [];
        for await (const b of s) parts.push(...b);
        const { sampleRate, channels, bitsPerSample, format, durationSec, truncated } = s.info;
        return { samples: Float32Array.from(parts), sampleRate, channels, bitsPerSample, format, durationSec, truncated };
      };
      const runs: Array<[string, () => Promise<DecodedAudio> | DecodedAudio]> = [
        ['buffer', () => decodeWav(bytes)],
        ['file', () => readWavFileSync(file)],
        ['stream', viaStream],
      ];
      for (const [how, run] of runs) {
        if ('error' in c.expect) {
          const { error, message } = c.expect;
          await assert.rejects(
            async () => run(),
            (e: unknown) => {
              assert.ok(e instanceof error, `${how}: expected ${error.name}, got ${String(e)}`);
              assert.match((e as Error).message, message, `${how}`);
              return true;
            },
          );
        } else {
          c.expect.check(await run());
        }
      }
    });
  });

  it('a missing file, a directory and an unreadable path are AudioInputErrors', async () => {
    assert.throws(() => readWavFileSync(path.join(tmp, 'missing.wav')), (e: unknown) => e instanceof AudioInputError && /no such file/.test(e.message));
    assert.throws(() => readWavFileSync(tmp), (e: unknown) => e instanceof AudioInputError && /directory/.test(e.message));
    await assert.rejects(openWavStream(tmp), AudioInputError);
  });

  it('the output-size cap refuses many samples even within the duration limit', () => {
    const bytes = riff([fmt16({ rate: 384000 }), { id: 'data', body: int16Body(new Array(1000).fill(1)) }]);
    assert.throws(() => decodeWav(bytes, { maxFrames: 999 }), (e: unknown) => e instanceof AudioInputError && /1000 samples per channel .* over the 999-sample limit/.test((e as Error).message));
    assert.equal(decodeWav(bytes, { maxFrames: 1000 }).samples.length, 1000);
  });

  it('non-buffer input is refused with a typed error', () => {
    assert.throws(() => decodeWav('clip.wav' as unknown as Uint8Array), AudioInputError);
  });

  it('every error above is a SpokenDigitsError with a code', () => {
    try {
      decodeWav(new Uint8Array(0));
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof SpokenDigitsError);
      assert.equal((e as SpokenDigitsError).code, 'ERR_WAV_FORMAT');
    }
  });
});

describe('audio: long files', function () {
  this.timeout(60000);
  let tmp: string;
  let hour: string;
  const rate = 8000;
  const seconds = 3600;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-long-'));
    hour = path.join(tmp, 'hour.wav');
    // One hour of 8 kHz 16-bit mono (57.6 MB) written in 1 s pieces: an FSDD-derived fixture looped.
    const clip = fs.readFileSync(path.join(fixtures, 's16.wav')).subarray(44);
    const second = Buffer.alloc(rate * 2);
    for (let o = 0; o < second.length; o += clip.length) clip.copy(second, o, 0, Math.min(clip.length, second.length - o));
    const header = riff([fmt16({ rate }), { id: 'data', body: new Uint8Array(0), declaredSize: rate * 2 * seconds }]);
    const fd = fs.openSync(hour, 'w');
    fs.writeSync(fd, header);
    for (let s = 0; s < seconds; s++) fs.writeSync(fd, second);
    fs.closeSync(fd);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('whole-file decoding refuses a 1-hour file before reading its samples', () => {
    const t0 = performance.now();
    assert.throws(() => readWavFileSync(hour), (e: unknown) => e instanceof AudioInputError && /3600\.0 s long, over the 600 s limit/.test(e.message) && /stream/.test(e.message));
    assert.ok(performance.now() - t0 < 200, 'the refusal must not read the file');
    const head = fs.readFileSync(hour).subarray(0, 1 << 16);
    assert.throws(() => decodeWav(head, { maxDurationSec: 1 }), AudioInputError); // in-memory prefix: 4 s present
  });

  it('streams the hour in flat memory and yields every frame', async () => {
    const before = process.memoryUsage();
    let frames = 0;
    let peakExternal = 0;
    let blocks = 0;
    for await (const b of streamWavFile2(hour)) {
      frames += b.length;
      if (++blocks % 256 === 0) peakExternal = Math.max(peakExternal, process.memoryUsage().arrayBuffers - before.arrayBuffers);
    }
    assert.equal(frames, rate * seconds);
    // A whole-file decode would hold 115 MB of Float32; the stream holds a block at a time.
    assert.ok(peakExternal < 64 * 1024 * 1024, `external memory grew by ${(peakExternal / 1048576).toFixed(1)} MB`);
  });
});

async function* streamWavFile2(file: string): AsyncGenerator<Float32Array> {
  const s = await openWavStream(file, { blockFrames: 16384 });
  yield* s;
}
