/**
 * Where the streaming errors come from (a breakdown for bench/stream.ts's figures).
 *
 *   npx tsx bench/stream-errors.ts [--strings 120] [--min-pause 120] [--max-pause 450] [--seed 2024] [--noise-db -60] [--speakers a,b] [--words bench|dev|real|none] [--espeak-digits] [--real-digits] [--real-dir DIR] [--options JSON] [--model FILE] [--voice-shift F] [--json] [--help]
 *
 * Strings (same construction and seed as bench/stream.ts unless --seed / pauses / --speakers are given; --speakers: only
 * theirs, e.g. the speaker a leave-one-speaker-out fold model never heard): every digit/rejected event is matched to
 * the FSDD clips it overlaps, and each spoken digit is counted as one of
 *   ok · classified wrong (one event for the clip, wrong digit) · rejected (one event, not a digit) ·
 *   split (several events inside one clip) · merged (one event over several clips) · lost (no event),
 * and for a wrong/rejected one whether the model also gets the clip wrong when given it alone.
 *
 * Words: each word spoken by espeak-ng (4 voices × 2 gains) is streamed alone, and every digit event
 * it causes is listed with its confidence and how many events its speech segment was split into.
 * `--words bench` uses bench/stream.ts's held-out list (measure only, never tune on it); `--words
 * dev` (default) a separate development list; `--words real` single words of a real human voice never
 * trained on (the Asterisk PBX prompts, Debian package asterisk-core-sounds-en-wav; 2 gains each).
 *
 * `--real-digits`: the same real voice saying 0-9, alone in the stream and as clips, at two gains: a
 * stranger's voice (a woman's; FSDD's six speakers are men) that no synthesizer made.
 *
 * `--espeak-digits`: each digit word spoken by espeak-ng in 8 voices (the first four are the words'
 * voices) is streamed alone the same way, and the digit events are checked. The "none" class is
 * trained on espeak-ng words, so a model can learn "espeak-ng voice = not a digit" and still score
 * well on the words above; this is the count that catches it.
 */
import { DigitRecognizer } from '../src/model/recognizer.js';
import { Listener, loadStreamCore } from '../src/stream/index.js';
import { concatFloat, DIGIT_WORDS, makeDigitString, randomDigits, rng, silence, SPEAKERS, spokenWords } from '../test/stream/fixtures.js';
import { ASTERISK_EN_DIR, BENCH_WORDS, DEV_WORDS, REAL_DIGITS, REAL_WORDS } from './stream-words.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readWavFile } from '../src/audio/index.js';
import { BenchArgs } from './args.js';

const args = new BenchArgs(import.meta.url, {
  strings: { type: 'string' },
  'min-pause': { type: 'string' },
  'max-pause': { type: 'string' },
  seed: { type: 'string' },
  'noise-db': { type: 'string' },
  words: { type: 'string' },
  'espeak-digits': { type: 'boolean' },
  'real-digits': { type: 'boolean' },
  'real-dir': { type: 'string' },
  options: { type: 'string' },
  speakers: { type: 'string' },
  model: { type: 'string' },
  'voice-shift': { type: 'string' },
  json: { type: 'boolean' },
});
const nStrings = args.number('strings', 120);
const wordSet = args.string('words', 'dev');
if (!['bench', 'dev', 'real', 'none'].includes(wordSet)) args.fail(`--words takes bench, dev, real or none, not ${wordSet}`);
const minPauseMs = args.number('min-pause', 120);
const maxPauseMs = args.number('max-pause', 450);
const seed = args.number('seed', 2024);
const noiseDb = args.number('noise-db', -60);
const speakers = args.string('speakers')?.split(',') ?? SPEAKERS;
for (const sp of speakers) if (!SPEAKERS.includes(sp)) args.fail(`--speakers: ${sp} is not an FSDD speaker (${SPEAKERS.join(', ')})`);
// Listener options to try, as JSON (e.g. '{"split":{"verifyTailMs":0}}').
const listenerOptions = args.json<Record<string, unknown>>('options') ?? {};
const json = args.flag('json');
const espeakDigits = args.flag('espeak-digits');
const realDigits = args.flag('real-digits');
// A real voice (--words real, --real-digits): the Asterisk prompts' recordings, resampled to 8 kHz if need be.
const realDir = args.string('real-dir', ASTERISK_EN_DIR);
if ((wordSet === 'real' || realDigits) && !existsSync(join(realDir, 'digits/0.wav'))) {
  console.error(`${realDir} has no Asterisk prompts: apt-get install asterisk-core-sounds-en-wav (or --real-dir DIR)`);
  process.exit(2);
}
async function realClip(name: string): Promise<Float32Array> {
  const a = await readWavFile(join(realDir, `${name}.wav`));
  return a.sampleRate === 8000 ? a.samples : recognizer.backend.resample(a.samples, a.sampleRate, 8000);
}
// --voice-shift: every piece heard at this shift, as after a VoiceAdapter moved to it (e.g. false digits once adapted to a stranger).
const recognizer = await DigitRecognizer.load({
  model: args.string('model'),
  voiceShift: args.number('voice-shift'),
});
const core = await loadStreamCore();

interface Ev {
  kind: 'digit' | 'rejected';
  digit: number | null;
  reason?: string;
  confidence: number;
  start: number;
  end: number;
}

async function run(samples: Float32Array): Promise<{ events: Ev[]; segments: number }> {
  const listener = await Listener.create({ ...listenerOptions, recognizer });
  const events: Ev[] = [];
  let segments = 0;
  listener.on('speechstart', () => segments++);
  listener.on('digit', (e) => events.push({ kind: 'digit', digit: e.digit, confidence: e.confidence, start: (e.startMs / 1000) * 8000, end: (e.endMs / 1000) * 8000 }));
  listener.on('rejected', (e) => events.push({ kind: 'rejected', reason: e.reason, digit: e.candidate, confidence: e.confidence, start: (e.startMs / 1000) * 8000, end: (e.endMs / 1000) * 8000 }));
  for (let i = 0; i < samples.length; i += 1600) listener.push(samples.subarray(i, i + 1600), 8000);
  await listener.end();
  return { events, segments };
}

/** Speech alone between pauses (0.6 s before, 0.8 s after) in faint seeded noise, as a word or digit spoken on its own. */
function aloneInNoise(speech: Float32Array, noiseSeed: number): Float32Array {
  const noise = rng(noiseSeed);
  const x = concatFloat([silence(0.6), speech, silence(0.8)]);
  for (let i = 0; i < x.length; i++) x[i] += 0.001 * (noise() * 2 - 1);
  return x;
}
// espeak-ng voices: the words are spoken in the first four, the digits in all eight.
const VOICES = ['en-us', 'en', 'en-us+f3', 'en+m3', 'en-gb-x-rp', 'en-us+f2', 'en+m5', 'en-gb-scotland'];

const out: Record<string, unknown> = {};
if (nStrings > 0) {
  const r = rng(seed);
  const counts = { ok: 0, wrong: 0, rejected: 0, split: 0, merged: 0, lost: 0, inserted: 0 };
  const modelAlone = { wrongAlsoAlone: 0, wrongOnlyInStream: 0 };
  const details: string[] = [];
  let total = 0;
  let whole = 0;
  for (let k = 0; k < nStrings; k++) {
    const digits = randomDigits(r);
    const len = digits.length;
    const speaker = speakers[k % speakers.length];
    const s = makeDigitString(digits, speaker, r, { minPauseMs, maxPauseMs, noiseDb });
    const { events } = await run(s.samples);
    total += len;
    if (events.filter((e) => e.kind === 'digit').map((e) => e.digit).join('') === digits) whole++;
    const overlap = (e: Ev, [a, b]: [number, number]) => Math.max(0, Math.min(e.end, b) - Math.max(e.start, a));
    // A clip's speech (FSDD clips carry some silence of their own); an event belongs to every clip
    // whose speech it covers at least half of.
    const speech = s.spans.map(([a, b]): [number, number] => {
      const e = core.speechExtent(s.samples.subarray(a, b), 8000, 30, 0);
      return e ? [a + e[0], a + e[1]] : [a, b];
    });
    const covers = events.map((e) => speech.map((sp, i) => (overlap(e, sp) >= (sp[1] - sp[0]) / 2 ? i : -1)).filter((i) => i >= 0));
    covers.forEach((c) => {
      if (c.length === 0) counts.inserted++;
    });
    for (let i = 0; i < len; i++) {
      const mine = events.map((e, j) => ({ e, c: covers[j] })).filter((x) => x.c.includes(i));
      let verdict: keyof typeof counts;
      if (mine.length === 0) verdict = 'lost';
      else if (mine.some((x) => x.c.length > 1)) verdict = 'merged';
      else if (mine.length > 1) verdict = 'split';
      else if (mine[0].e.kind === 'rejected') verdict = 'rejected';
      else verdict = mine[0].e.digit === Number(digits[i]) ? 'ok' : 'wrong';
      counts[verdict]++;
      if (verdict === 'ok') continue;
      const [a, b] = s.spans[i];
      let alone = '';
      if (verdict === 'wrong' || verdict === 'rejected') {
        const p = await recognizer.predict({ samples: s.samples.slice(a, b), sampleRate: 8000 });
        const aloneOk = p.isDigit && p.digit === Number(digits[i]);
        if (aloneOk) modelAlone.wrongOnlyInStream++;
        else modelAlone.wrongAlsoAlone++;
        alone = ` | clip alone: ${p.isDigit ? p.digit : `rejected(${p.candidate})`} ${p.confidence.toFixed(2)}`;
      }
      const ev = mine.map((x) => `${x.e.kind === 'digit' ? x.e.digit : `rej:${x.e.reason}(${x.e.digit})`}@${x.e.confidence.toFixed(2)} [${Math.round(x.e.start / 8)}-${Math.round(x.e.end / 8)}]`).join(' ');
      details.push(`${speaker} "${digits}" #${i} (${digits[i]}, clip ${Math.round(a / 8)}-${Math.round(b / 8)} ms): ${verdict}: ${ev || '-'}${alone}`);
    }
  }
  out.strings = { digits: total, strings: nStrings, whole, minPauseMs, maxPauseMs, seed, counts, modelAlone, details };
  if (!json) {
    console.log(`strings: ${total} digits, ${whole}/${nStrings} strings right`, counts, modelAlone);
    for (const d of details) console.log(`  ${d}`);
  }
}

if (wordSet !== 'none') {
  const words = wordSet === 'bench' ? BENCH_WORDS : wordSet === 'real' ? REAL_WORDS : DEV_WORDS;
  // The real words come in their one recorded voice.
  const voices = wordSet === 'real' ? ['allison'] : VOICES.slice(0, 4);
  const fired: { word: string; voice: string; gainDb: number; digits: string; confidences: number[]; events: number; segments: number }[] = [];
  let items = 0;
  let falseDigits = 0;
  for (const w of words) {
    for (const voice of voices) {
      const speech = wordSet === 'real' ? await realClip(w) : spokenWords(w, voice, 150);
      for (const gainDb of [-10, 0]) {
        const g = 10 ** (gainDb / 20);
        const { events, segments } = await run(aloneInNoise(speech.map((v) => v * g), items + 1));
        items++;
        const digitEvents = events.filter((e) => e.kind === 'digit');
        falseDigits += digitEvents.length;
        if (digitEvents.length) fired.push({ word: w, voice, gainDb, digits: digitEvents.map((e) => e.digit).join(''), confidences: digitEvents.map((e) => +e.confidence.toFixed(3)), events: events.length, segments });
      }
    }
  }
  const byWord = new Map<string, number>();
  for (const f of fired) byWord.set(f.word, (byWord.get(f.word) ?? 0) + f.digits.length);
  const multi = fired.filter((f) => f.events > f.segments).length;
  out.words = { set: wordSet, items, falseDigits, itemsFiring: fired.length, itemsSplitIntoSeveralEvents: multi, byWord: Object.fromEntries([...byWord].sort((a, b) => b[1] - a[1])), fired };
  if (!json) {
    console.log(`words (${wordSet}): ${falseDigits} false digits from ${fired.length} of ${items} items; ${multi} of those were split into more events than segments`);
    for (const f of fired) console.log(`  ${f.word} [${f.voice} ${f.gainDb} dB]: ${f.digits} @ ${f.confidences.join(', ')} (${f.events} events / ${f.segments} segments)`);
  }
}
if (espeakDigits) {
  const misses: string[] = [];
  const rightByVoice: Record<string, number> = {};
  for (const voice of VOICES) {
    rightByVoice[voice] = 0;
    for (const [d, w] of DIGIT_WORDS.entries()) {
      const { events } = await run(aloneInNoise(spokenWords(w, voice, 150), 100 + d));
      const digits = events.filter((e) => e.kind === 'digit').map((e) => e.digit).join('');
      if (digits === String(d)) rightByVoice[voice]++;
      else misses.push(`${w} [${voice}]: ${events.map((e) => (e.kind === 'digit' ? `${e.digit}` : `rej:${e.reason}(${e.digit})`) + `@${e.confidence.toFixed(2)}`).join(' ') || '-'}`);
    }
  }
  const right = Object.values(rightByVoice).reduce((a, b) => a + b, 0);
  const items = VOICES.length * DIGIT_WORDS.length;
  out.espeakDigits = { items, right, rightByVoice, misses };
  if (!json) {
    console.log(`espeak-ng digits: ${right} of ${items} right`, rightByVoice);
    for (const m of misses) console.log(`  ${m}`);
  }
}
if (realDigits) {
  // Each digit alone in the stream, and as a clip (recognizer.predict), at two levels.
  const misses: string[] = [];
  let inStream = 0;
  let asClip = 0;
  for (const [d, name] of REAL_DIGITS.entries()) {
    const clip = await realClip(name);
    for (const gainDb of [-10, 0]) {
      const g = 10 ** (gainDb / 20);
      const x = clip.map((v) => v * g);
      const { events } = await run(aloneInNoise(x, 200 + d));
      const digits = events.filter((e) => e.kind === 'digit').map((e) => e.digit).join('');
      const p = await recognizer.predict({ samples: x, sampleRate: 8000 });
      if (digits === String(d)) inStream++;
      else misses.push(`${d} [${gainDb} dB] in the stream: ${events.map((e) => (e.kind === 'digit' ? `${e.digit}` : `rej:${e.reason}(${e.digit})`) + `@${e.confidence.toFixed(2)}`).join(' ') || '-'}`);
      if (p.isDigit && p.digit === d) asClip++;
      else misses.push(`${d} [${gainDb} dB] as a clip: ${p.isDigit ? p.digit : `rejected(${p.candidate})`}@${p.confidence.toFixed(2)}`);
    }
  }
  const items = REAL_DIGITS.length * 2;
  out.realDigits = { items, inStream, asClip, misses };
  if (!json) {
    console.log(`real voice's digits (${realDir}): ${inStream} of ${items} right in the stream, ${asClip} of ${items} as clips`);
    for (const m of misses) console.log(`  ${m}`);
  }
}
if (json) console.log(JSON.stringify(out, null, 2));
