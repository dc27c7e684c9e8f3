import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavFile } from '../src/audio/index.js';
import { voiceShift } from '../src/audio/voice-shift.js';
import { digitOfPath } from '../src/cli/commands/enroll.js';
import { listFsddClips } from '../src/data/index.js';
import { AudioInputError, EnrollmentError, ModelError } from '../src/errors.js';
import { loadFeatureBackend } from '../src/features/index.js';
import { type EnrollmentClip, enrollSpeaker, refitHead } from '../src/model/enroll.js';
import { OPTIONAL_METADATA_KEYS } from '../src/model/metadata.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { DigitRecognizer, decodeAudioInput } from '../src/model/recognizer.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { findClassifierHeads, replaceHeadWeights } from '../src/train/onnx/heads.js';
import { probeModel } from '../src/train/onnx/probe.js';
import { FSDD_RECORDINGS } from './fsdd.js';
import { concatFloat, editDistance, melody, noiseBurst, rng, silence, spokenWords } from './stream/fixtures.js';
import { makeAlsaFileDevice, makeEmptyAlsaConfig, skipWithoutCapture } from './stream/alsa-file.js';
import { monoWav } from './fixtures/wav.js';
import { Listener, openFileSource, recordCounting } from '../src/stream/index.js';
import { CountTally } from '../src/stream/count-tally.js';
import { WebRecognizer } from '../src/web/recognizer.js';
import { enrollSpeaker as enrollInBrowser } from '../src/web/enroll.js';

const FP32 = new Uint8Array(readFileSync('models/default.onnx'));
const INT8 = new Uint8Array(readFileSync('models/default.int8.onnx'));
const SMALL = new Uint8Array(readFileSync('models/small.onnx'));
const clipsOf = (speaker: string, takes: number[]) => listFsddClips(FSDD_RECORDINGS).filter((c) => c.speaker === speaker && takes.includes(c.take));
const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('classifier heads of a model graph (src/train/onnx/heads.ts)', function () {
  this.timeout(60_000);
  const sample = clipsOf('theo', [0]).map((c) => c.path);

  it('finds one head per member, with int8 weights dequantized to about the fp32 ones', () => {
    const [fp32, int8, small] = [FP32, INT8, SMALL].map((m) => findClassifierHeads(decodeModel(m).graph));
    assert.equal(fp32.length, 2);
    assert.equal(int8.length, 2);
    assert.equal(small.length, 1);
    fp32.forEach((h, k) => {
      assert.equal(h.classes, 11);
      assert.equal(int8[k].dims, h.dims);
      const scale = Math.max(...h.weights.map(Math.abs)) / 127;
      h.weights.forEach((w, i) => assert.ok(Math.abs(w - int8[k].weights[i]) <= scale * 1.01, `weight ${i}: ${w} vs ${int8[k].weights[i]}`));
    });
  });

  it('a head given its own weights back computes what the model did (fp32 exactly; int8 without its logits\' quantization)', async () => {
    for (const [model, tolerance] of [
      [FP32, 1e-6],
      [INT8, 0.02],
    ] as const) {
      const m = decodeModel(model);
      for (const head of findClassifierHeads(m.graph)) replaceHeadWeights(m.graph, head, head.weights, head.bias);
      const [before, after] = await Promise.all([probeModel(model, [], sample), probeModel(encodeModel(m), [], sample)]);
      before.forEach(([p], i) => p.forEach((v, k) => assert.ok(Math.abs(v - after[i][0][k]) <= tolerance, `clip ${i} class ${k}: ${v} vs ${after[i][0][k]}`)));
    }
  });

  it('new weights give the mean of each member\'s softmax over its embedding, as computed by hand', async () => {
    const m = decodeModel(INT8);
    const heads = findClassifierHeads(m.graph);
    const r = rng(3);
    const fresh = heads.map((h) => ({ weights: h.weights.map((w) => w + 0.3 * (r() - 0.5)), bias: h.bias.map((b) => b + 0.3 * (r() - 0.5)) }));
    const rows = await probeModel(INT8, heads.map((h) => h.embedding), sample);
    heads.forEach((h, k) => replaceHeadWeights(m.graph, h, fresh[k].weights, fresh[k].bias));
    assert.ok(!m.graph.nodes.some((n) => n.op === 'DequantizeLinear' && heads.some((h) => n.outputs.includes(h.gemm.inputs[1]))), 'the old int8 weights are gone');
    const personal = await probeModel(encodeModel(m), [], sample);
    rows.forEach((row, i) => {
      const expected = heads
        .map((h, k) => softmax(Array.from({ length: h.classes }, (_, c) => row[1 + k].reduce((s, e, j) => s + e * fresh[k].weights[j * h.classes + c], fresh[k].bias[c]))))
        .reduce((acc, p) => acc.map((v, c) => v + p[c] / heads.length), new Array<number>(heads[0].classes).fill(0));
      expected.forEach((v, c) => assert.ok(Math.abs(v - personal[i][0][c]) < 1e-5, `clip ${i} class ${c}: ${v} vs ${personal[i][0][c]}`));
    });
  });

  it('a graph without a Gemm feeding a Softmax has no head: ModelError', () => {
    const m = decodeModel(SMALL);
    m.graph.nodes.filter((n) => n.op === 'Softmax').forEach((n) => (n.op = 'Sigmoid'));
    assert.throws(() => findClassifierHeads(m.graph, 'x.onnx'), (e: unknown) => e instanceof ModelError && /x\.onnx: no classifier head/.test(e.message));
  });
});

describe('refitHead: the last layer refitted on labelled embeddings', () => {
  const dims = 4;
  const classes = 3;
  // Trained weights that confuse classes 1 and 2 (both read dimension 1).
  const weights = Float32Array.from([3, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0]);
  const head = { dims, classes, weights, bias: new Float32Array(classes) };
  const embeddings = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 1, 1, 0],
  ];
  const targets = [0, 1, 2];
  const top = (w: Float32Array, b: Float32Array, e: number[]) => {
    const z = Array.from({ length: classes }, (_, c) => e.reduce((s, v, i) => s + v * w[i * classes + c], b[c]));
    return z.indexOf(Math.max(...z));
  };

  it('learns what the clips say, and held by a large l2 stays at the trained weights', () => {
    const fitted = refitHead(head, embeddings, targets, { l2: 0.1, steps: 300, learningRate: 0.5 });
    assert.deepEqual(embeddings.map((e) => top(fitted.weights, fitted.bias, e)), targets);
    const held = refitHead(head, embeddings, targets, { l2: 1e3, steps: 300, learningRate: 1e-3 });
    held.weights.forEach((w, i) => assert.ok(Math.abs(w - weights[i]) < 0.01));
    assert.deepEqual(refitHead(head, embeddings, targets, { l2: 0.1, steps: 300, learningRate: 0.5 }), fitted, 'deterministic');
  });

  it('with a fixed class ("none"), that class stays as trained and the mean of the others\' logits stays too, for any input', () => {
    const four = { dims, classes: 4, weights: Float32Array.from({ length: dims * 4 }, (_, i) => Math.sin(i)), bias: Float32Array.of(0.1, -0.2, 0.3, 0.5) };
    const fitted = refitHead(four, [...embeddings, [1, 1, 0, 1]], [0, 1, 2, 3], { l2: 0.1, steps: 200, learningRate: 0.5, fixedClass: 3 });
    const logits = (w: Float32Array, b: Float32Array, e: number[]) => Array.from({ length: 4 }, (_, c) => e.reduce((s, v, i) => s + v * w[i * 4 + c], b[c]));
    const r = rng(5);
    for (let t = 0; t < 20; t++) {
      const e = Array.from({ length: dims }, () => r() * 2 - 1);
      const [before, after] = [logits(four.weights, four.bias, e), logits(fitted.weights, fitted.bias, e)];
      assert.ok(Math.abs(before[3] - after[3]) < 1e-6, 'the fixed class');
      const mean = (z: number[]) => (z[0] + z[1] + z[2]) / 3;
      assert.ok(Math.abs(mean(before) - mean(after)) < 1e-5, `mean of the others: ${mean(before)} vs ${mean(after)}`);
    }
    assert.deepEqual(embeddings.map((e) => top(fitted.weights.filter((_, i) => i % 4 !== 3), fitted.bias.slice(0, 3), e)), targets, 'and they learn the clips');
  });

  it('a refit that diverges is refused, not returned as NaN weights', () => {
    assert.throws(() => refitHead(head, [[1e200, 0, 0, 0]], [1], { l2: 0, steps: 5, learningRate: 10 }), EnrollmentError);
  });
});

describe('enrollSpeaker / digits enroll: a personal model from labelled clips of one voice', function () {
  this.timeout(240_000);
  const work = mkdtempSync(join(tmpdir(), 'sd-enroll-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  /**
   * A stranger made from a voice the model knows: nicolas' FSDD test clips (takes 0-4) with pitch and
   * formants lowered to x0.75, the deepest the shipped model's training augmentation reaches. The
   * shipped model gets about half of them.
   */
  async function deepNicolas(takes: number[]): Promise<(EnrollmentClip & { take: number })[]> {
    const backend = await loadFeatureBackend({});
    return Promise.all(
      clipsOf('nicolas', takes).map(async (c) => {
        const a = await readWavFile(c.path);
        return { digit: c.digit, take: c.take, input: { samples: voiceShift(a.samples, a.sampleRate, 0.75, backend), sampleRate: a.sampleRate } };
      }),
    );
  }
  const decided = async (model: Uint8Array | string, clips: EnrollmentClip[]) => {
    const r = await DigitRecognizer.load({ model });
    try {
      return (await r.predictBatch(clips.map((c) => c.input))).filter((p, i) => p.digit === clips[i].digit).length;
    } finally {
      await r.dispose();
    }
  };

  it('two clips per digit take the shipped int8 model from about half to nearly all of the voice\'s other clips', async () => {
    const enroll = await deepNicolas([0, 1]);
    const test = await deepNicolas([2, 3, 4]);
    const e = await enrollSpeaker(enroll, { speaker: 'deep nicolas' });
    assert.equal(e.heads, 2);
    assert.deepEqual(e.clipsPerDigit, new Array(10).fill(2));
    assert.ok(e.voiceShift > 1, `a deep voice is heard higher (x${e.voiceShift})`);
    assert.ok(e.crossCheck && e.crossCheck.folds === 2 && e.crossCheck.after.correct > e.crossCheck.before.correct, JSON.stringify(e.crossCheck));
    const [before, after] = [await decided(INT8, test), await decided(e.model, test)];
    assert.ok(before <= 20 && after >= 27, `of ${test.length}: ${before} -> ${after}`);

    const info = parseModelMetadata(e.model);
    assert.equal(info.precision, 'int8');
    assert.equal(info.rejection.threshold, parseModelMetadata(INT8).rejection.threshold);
    assert.equal(info.enrollment?.speaker, 'deep nicolas');
    assert.equal(info.enrollment?.voiceShift, e.voiceShift);
    assert.deepEqual((info.enrollment?.base as { model: string }).model, 'default.int8.onnx');
    const r = await DigitRecognizer.load({ model: e.model });
    assert.equal(r.voiceShift, e.voiceShift, 'the recognizer hears the speaker at the enrolled shift');
    await r.dispose();
    assert.equal((await DigitRecognizer.load({ model: e.model, voiceShift: 1 })).voiceShift, 1, 'unless told otherwise');
    const web = await WebRecognizer.load(e.model);
    assert.equal(web.voiceShift, e.voiceShift, 'and so does the browser\'s recognizer (the kiosk, spoken-digits/web)');
    await web.dispose();
  });

  it('the browser\'s enrollSpeaker (spoken-digits/web: wasm DSP, onnxruntime-web) personalizes as the Node one does', async () => {
    const enroll = await deepNicolas([0, 1]);
    const test = await deepNicolas([2, 3, 4]);
    const pcm = enroll.map((c) => ({ ...(c.input as { samples: Float32Array; sampleRate: number }), digit: c.digit }));
    const [node, web] = [await enrollSpeaker(enroll, { speaker: 'deep nicolas' }), await enrollInBrowser(pcm, { model: INT8, speaker: 'deep nicolas' })];
    assert.equal(web.voiceShift, node.voiceShift);
    assert.deepEqual(web.fit.before, node.fit.before);
    assert.ok(Math.abs(web.fit.after.correct - node.fit.after.correct) <= 1 && Math.abs(web.crossCheck!.after.correct - node.crossCheck!.after.correct) <= 1, `${JSON.stringify(web.crossCheck)} vs ${JSON.stringify(node.crossCheck)}`);
    const after = await decided(web.model, test);
    assert.ok(after >= 27, `the browser's personal model: ${after} of ${test.length}`);
    assert.equal(parseModelMetadata(web.model).enrollment?.speaker, 'deep nicolas');
    assert.equal((parseModelMetadata(web.model).enrollment?.base as { model: string }).model, '(model bytes)');
    await assert.rejects(enrollInBrowser(pcm.filter((c) => c.digit !== 0), { model: INT8 }), (e: Error) => e instanceof EnrollmentError && /missing 0/.test(e.message));
    await assert.rejects(enrollInBrowser(pcm, { model: new Uint8Array([1, 2, 3]) }), ModelError);
    // The page's enrollment refuses a clip with no word in it as the Node library's does.
    const hiss = pcm.map((c, i) => (i === 2 ? { ...c, samples: noiseBurst('whitenoise', 0.8, -10), sampleRate: 8000 } : c));
    await assert.rejects(enrollInBrowser(hiss, { model: INT8 }), (e: Error) => e instanceof EnrollmentError && /^clip 2 \(labelled \d\) holds no word: no voiced sound/.test(e.message));
    // Samples that are not audio are refused as such, the clip named (not "silent", which NaN would read as).
    const corrupt = pcm.map((c, i) => (i === 3 ? { ...c, samples: new Float32Array(8000).fill(NaN) } : c));
    await assert.rejects(enrollInBrowser(corrupt, { model: INT8 }), (e: Error) => e instanceof AudioInputError && /^clip 3 \(labelled \d\) has a non-finite sample \(NaN\) at index 0$/.test(e.message));
    await assert.rejects(enrollInBrowser(pcm.map((c, i) => (i === 1 ? { ...c, sampleRate: 0 } : c)), { model: INT8 }), (e: Error) => e instanceof AudioInputError && /^clip 1 \(labelled \d\): its sample rate/.test(e.message));
  });

  it('a personal model takes few more words for digits than the base model, and in the stream loses no digits', async () => {
    const enroll = await deepNicolas([0, 1]);
    const personal = await enrollSpeaker(enroll, { crossCheck: false });
    assert.deepEqual(parseModelMetadata(personal.model).enrollment?.refit, { l2: 0.1, steps: 300, learningRate: 0.05, reversedWeight: 0.1 });
    // Non-digit words in two espeak-ng voices, whole clips.
    const words = ['candle', 'guitar', 'birthday', 'chocolate', 'sandwich', 'bottle', 'travel', 'order', 'balloon', 'kitten', 'carpet', 'dentist', 'honey', 'jungle', 'ladder', 'magnet', 'napkin', 'pocket', 'puzzle', 'rocket', 'tunnel', 'violin', 'basket', 'button', 'cookie', 'dragon', 'hammer', 'kettle']
      .flatMap((w) => ['en-us', 'en-us+f3'].map((voice) => ({ samples: spokenWords(w, voice), sampleRate: 8000 })));
    const digitsAmong = async (model: Uint8Array) => {
      const r = await DigitRecognizer.load({ model });
      try {
        return (await r.predictBatch(words)).filter((p) => p.isDigit).length;
      } finally {
        await r.dispose();
      }
    };
    const [base, mine, withoutReversed] = [await digitsAmong(INT8), await digitsAmong(personal.model), await digitsAmong((await enrollSpeaker(enroll, { crossCheck: false, reversedWeight: 0 })).model)];
    assert.ok(mine <= base + 3 && mine <= withoutReversed, `digits among ${words.length} words: base ${base}, personal ${mine}, personal without reversed clips ${withoutReversed}`);

    // The voice's own digit strings (its other test takes, 200-400 ms pauses), as a Listener hears them.
    const test = await deepNicolas([2, 3, 4]);
    const r = rng(11);
    const strings = Array.from({ length: 8 }, () => Array.from({ length: 5 }, () => test[Math.floor(r() * test.length)]));
    const errors = async (model: Uint8Array) => {
      const recognizer = await DigitRecognizer.load({ model });
      let wrong = 0;
      for (const s of strings) {
        const listener = await Listener.create({ recognizer, adaptVoice: false });
        let heard = '';
        listener.on('digit', (e) => (heard += e.digit));
        const audio = concatFloat([silence(0.4), ...s.flatMap((c) => [(c.input as { samples: Float32Array }).samples, silence(0.2 + 0.2 * r())]), silence(0.6)]);
        listener.push(audio, 8000);
        listener.end();
        await new Promise((done) => listener.once('end', done));
        wrong += editDistance(heard, s.map((c) => c.digit).join(''));
      }
      await recognizer.dispose();
      return wrong;
    };
    const [baseErrors, personalErrors] = [await errors(INT8), await errors(personal.model)];
    assert.ok(personalErrors * 2 <= baseErrors, `digit errors in ${strings.length} strings of 5: base ${baseErrors}, personal ${personalErrors}`);
  });

  it('refuses clips that do not cover every digit, bad labels, no clips and bad refit options', async () => {
    const one = clipsOf('theo', [0]).map((c) => ({ input: c.path, digit: c.digit }));
    await assert.rejects(enrollSpeaker(one.filter((c) => c.digit !== 4 && c.digit !== 7)), (e: unknown) => e instanceof EnrollmentError && /missing 4, 7/.test(e.message));
    await assert.rejects(enrollSpeaker([...one, { input: one[0].input, digit: 10 }]), /digit 10 must be an integer 0-9/);
    await assert.rejects(enrollSpeaker([]), EnrollmentError);
    await assert.rejects(enrollSpeaker(one, { steps: 0 }), /steps 0/);
    await assert.rejects(enrollSpeaker(one, { l2: -1 }), /l2 -1/);
    await assert.rejects(enrollSpeaker(one, { voiceShift: 3 }), /voice shift/i);
    await assert.rejects(enrollSpeaker(one, { reversedWeight: -1 }), /reversedWeight -1/);
    await assert.rejects(enrollSpeaker(one, { model: join(work, 'missing.onnx') }), ModelError);
    await assert.rejects(enrollSpeaker([...one.slice(1), { input: join(work, 'missing.wav'), digit: one[0].digit }]), /missing\.wav/);
    // Labels out of step with the clips (each one digit on), and clips with no word in them: no model.
    const shifted = one.map((c) => ({ ...c, digit: (c.digit + 1) % 10 }));
    await assert.rejects(enrollSpeaker(shifted), (e: unknown) => e instanceof EnrollmentError && /hears only 0 of 10 clips as the digits they are labelled with/.test(e.message));
    const quiet = one.map((c) => ({ input: { samples: new Float32Array(6000).map((_, i) => 1e-4 * Math.sin(i)), sampleRate: 8000 }, digit: c.digit }));
    await assert.rejects(enrollSpeaker(quiet), (e: unknown) => e instanceof EnrollmentError && /^clip 0 \(labelled 0\) is silent \(peak -80\.0 dBFS\)/.test(e.message));
    // One silent recording among good ones (a failed take): named, before any model run.
    const silent = join(work, 'silent-5.wav');
    writeFileSync(silent, monoWav(new Int16Array(4000), 8000));
    await assert.rejects(enrollSpeaker(one.map((c) => (c.digit === 5 ? { input: silent, digit: 5 } : c))), (e: unknown) => e instanceof EnrollmentError && /silent-5\.wav \(labelled 5\) is silent \(peak -inf dBFS\): each clip must hold its digit/.test(e.message));
    // Loud sounds that are no word (a hissing microphone, a beep, a tap): the endpointer's own verdict, named.
    const noWord: [string, Float32Array][] = [
      ['no voiced sound, only noise or breath', noiseBurst('whitenoise', 0.8, -10)],
      ['a steady tone \\(a beep, a hum\\)', melody(['440'], 0.8, 'sine')],
      ['only a sound too short for a word', noiseBurst('whitenoise', 0.03, -6)],
    ];
    // A word recorded far too quietly (theo's "seven" at a -55 dBFS peak) stands out too little: its level is said.
    const seven = (await decodeAudioInput(one.find((c) => c.digit === 7)!.input)).samples;
    const peak = seven.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    noWord.push(['.+\\(its peak is only -55\\.0 dBFS: a word recorded this quietly may not be heard; record louder\\)', seven.map((v) => (v / peak) * 10 ** (-55 / 20))]);
    for (const [why, samples] of noWord) {
      const clips = one.map((c) => (c.digit === 7 ? { input: { samples, sampleRate: 8000 }, digit: 7 } : c));
      await assert.rejects(enrollSpeaker(clips), (e: unknown) => e instanceof EnrollmentError && new RegExp(`^clip 7 \\(labelled 7\\) holds no word: ${why}`).test(e.message), why);
    }
  });

  it('one clip per digit: no cross-check, a fixed voice shift when asked, the single model of small.onnx', async () => {
    const one = clipsOf('theo', [1]).map((c) => ({ input: c.path, digit: c.digit }));
    const e = await enrollSpeaker(one, { model: 'models/small.onnx', voiceShift: 1 });
    assert.equal(e.heads, 1);
    assert.equal(e.crossCheck, null);
    assert.equal(e.voiceShift, 1);
    assert.equal(e.fit.after.correct, 10);
    assert.equal(parseModelMetadata(e.model).precision, 'fp32');
  });

  it('a model file whose enrollment record is malformed is refused', () => {
    const m = decodeModel(SMALL);
    m.metadata[OPTIONAL_METADATA_KEYS.enrollment] = JSON.stringify({ voiceShift: 9 });
    assert.throws(() => parseModelMetadata(encodeModel(m), 'p.onnx'), /p\.onnx: metadata enrollment/);
    m.metadata[OPTIONAL_METADATA_KEYS.enrollment] = '[]';
    assert.throws(() => parseModelMetadata(encodeModel(m), 'p.onnx'), ModelError);
  });

  it('digitOfPath reads a digit or digit word from the file name, else its folder', () => {
    assert.equal(digitOfPath('/a/7.wav'), 7);
    assert.equal(digitOfPath('/a/7_anna_3.wav'), 7);
    assert.equal(digitOfPath('/a/Seven-2.wav'), 7);
    assert.equal(digitOfPath('/a/zero.wav'), 0);
    assert.equal(digitOfPath('/a/3/take1.wav'), 3);
    assert.equal(digitOfPath('/a/nine/x.wav'), 9);
    assert.equal(digitOfPath('/a/b/take1.wav'), null);
    assert.equal(digitOfPath('/a/71.wav'), null, 'not a single digit');
    assert.equal(digitOfPath('/a/oneself.wav'), null, 'not a digit word');
  });

  function digits(...args: string[]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('digits enroll writes a personal model from a folder of named recordings; predict, eval and listen take it', () => {
    const dir = join(work, 'me');
    const clips = clipsOf('jackson', [0, 1]);
    clips.forEach((c) => {
      // Both naming styles: FSDD names, and folders named by the digit word.
      const sub = c.take === 0 ? dir : join(dir, ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][c.digit]);
      mkdirSync(sub, { recursive: true });
      copyFileSync(c.path, join(sub, c.take === 0 ? `${c.digit}_me_0.wav` : 'take.wav'));
    });
    const out = join(work, 'me.onnx');
    const r = digits('enroll', dir, '--out', out, '--speaker', 'jackson', '--steps', '100', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.clipsPerDigit, new Array(10).fill(2));
    assert.equal(report.crossCheck.folds, 2);
    assert.equal(parseModelMetadata(new Uint8Array(readFileSync(out))).enrollment?.speaker, 'jackson');
    const text = digits('enroll', dir, '--out', out);
    assert.match(text.stdout, /cross-checked \(2 folds/);
    assert.match(text.stdout, /wrote .*me\.onnx \(2 layers refitted/);

    const p = digits('predict', '--model', out, '--json', join(FSDD_RECORDINGS, '6_jackson_2.wav'));
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).results[0].digit, 6);
    const l = digits('listen', '--model', out, '--input', join(FSDD_RECORDINGS, '3_jackson_4.wav'), '--json');
    assert.equal(l.code, 0, l.stderr);
    const events = l.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(events.filter((e) => e.type === 'digit').map((e) => e.digit), [3]);
    assert.ok(!events.some((e) => e.type === 'voiceshift'), 'a personal model is not adapted again unless asked');
  });

  it('digits enroll says which recordings have no digit in their name, and will not overwrite the model it personalizes', () => {
    const dir = join(work, 'unnamed');
    mkdirSync(dir, { recursive: true });
    copyFileSync(clipsOf('theo', [0])[0].path, join(dir, 'recording-01.wav'));
    const r = digits('enroll', dir, '--out', join(work, 'x.onnx'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot tell which digit this recording holds: .*recording-01\.wav/);
    const base = join(work, 'base.onnx');
    writeFileSync(base, SMALL);
    const same = digits('enroll', join(FSDD_RECORDINGS, '0_theo_0.wav'), '--model', base, '--out', base);
    assert.notEqual(same.code, 0);
    assert.match(same.stderr, /is the model being personalized/);
    assert.deepEqual(new Uint8Array(readFileSync(base)), SMALL);
    const missing = digits('enroll', join(work, 'nothing-here'), '--out', join(work, 'x.onnx'));
    assert.match(missing.stderr, /nothing-here: no such file or folder/);
  });

  describe('counting from zero to nine (recordCounting, digits enroll --counting)', () => {
    /** theo counting 0-9 `times` times (his takes from `take` on), with a half-second pause after each word. */
    async function counting(times: number, take = 5, skip = -1): Promise<Float32Array> {
      const parts: Float32Array[] = [silence(0.3)];
      for (let t = 0; t < times; t++)
        for (let d = 0; d < 10; d++) {
          if (t * 10 + d === skip) continue;
          parts.push((await readWavFile(join(FSDD_RECORDINGS, `${d}_theo_${take + t}.wav`))).samples, silence(0.5));
        }
      return concatFloat(parts);
    }

    it('cuts one labelled clip per word, in order, from a file of two counts', async () => {
      const file = join(work, 'count2.wav');
      writeFileSync(file, monoWav(await counting(2), 8000));
      const heard: number[] = [];
      const { clips, pieces } = await recordCounting(await openFileSource(file), { onPiece: (p) => heard.push(p.digit) });
      assert.deepEqual(heard, [...'01234567890123456789'].map(Number));
      assert.deepEqual(clips.map((c) => c.digit), heard);
      assert.ok(pieces.filter((p) => p.heard === p.digit).length >= 18, JSON.stringify(pieces.map((p) => p.heard)));
      // Each clip is its word: half a second or so, not the pause around it.
      for (const c of clips) {
        const seconds = (c.input as { samples: Float32Array }).samples.length / 8000;
        assert.ok(seconds > 0.2 && seconds < 1.2, `${seconds} s`);
      }
      const r = digits('enroll', '--counting', file, '--out', join(work, 'count.onnx'), '--json');
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(report.clipsPerDigit, new Array(10).fill(2));
      assert.equal(report.crossCheck.folds, 2);
    });

    it('a count with a word missing, or words out of step with their places, is refused with what was heard', async () => {
      const short = join(work, 'count-short.wav');
      writeFileSync(short, monoWav(await counting(1, 5, 4), 8000));
      await assert.rejects(recordCounting(await openFileSource(short)), (e: unknown) => e instanceof EnrollmentError && /heard 9 words, expected 10 .*heard: 0 1 2 3 5/.test(e.message));
      const shifted = join(work, 'count-shifted.wav');
      writeFileSync(shifted, monoWav(concatFloat([(await readWavFile(join(FSDD_RECORDINGS, '7_theo_9.wav'))).samples, silence(0.5), await counting(1, 5, 9)]), 8000));
      await assert.rejects(recordCounting(await openFileSource(shifted)), /from word 1 on, the words were heard as the digit before the one their place in the count says \(heard: 7 0 1 2/);
      const r = digits('enroll', '--counting', short, join(FSDD_RECORDINGS, '0_theo_0.wav'), '--out', join(work, 'x.onnx'));
      assert.match(r.stderr, /either labelled recordings or --counting/);
      await assert.rejects(recordCounting(await openFileSource(short, { realtime: true })), /a live source needs the number of repeats/);
      await assert.rejects(recordCounting(await openFileSource(short), { maxSeconds: 2 }), (e: unknown) => e instanceof AudioInputError && /longer than 2 s/.test(e.message));
      await assert.rejects(recordCounting(await openFileSource(short), { repeats: 0 }), /repeats 0 must be an integer/);
    });

    it('a word split in two is refused, not trained on with every later word labelled one digit on', async () => {
      // theo's "seven" with 400 ms of silence in its middle: two words for the endpointer.
      const parts: Float32Array[] = [silence(0.3)];
      for (let d = 0; d < 10; d++) {
        const word = (await readWavFile(join(FSDD_RECORDINGS, `${d}_theo_5.wav`))).samples;
        const half = word.length >> 1;
        parts.push(...(d === 7 ? [word.subarray(0, half), silence(0.4), word.subarray(half)] : [word]), silence(0.5));
      }
      const file = join(work, 'count-split.wav');
      writeFileSync(file, monoWav(concatFloat(parts), 8000));
      // Told how many counts, a recording is still heard to its end: the word too many is found.
      await assert.rejects(recordCounting(await openFileSource(file), { repeats: 1 }), (e: unknown) => e instanceof EnrollmentError && /heard 11 words, expected 10/.test((e as Error).message));
      const r = digits('enroll', '--counting', file, '--repeats', '1', '--out', join(work, 'split.onnx'));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /heard 11 words, expected 10/);
      // Live, the count ends at its tenth word; the slip shows in what the later words were heard as.
      const slipped = new CountTally(1);
      for (const heard of [0, 1, 2, 3, 4, 5, 6, null, 7, 8]) slipped.add(heard, 0.9, 0, 0);
      assert.throws(() => slipped.check(), (e: unknown) => e instanceof EnrollmentError && /from word 8 on, the words were heard as the digit before the one their place .* split in two/.test((e as Error).message));
      const missed = new CountTally(1);
      for (const heard of [0, 1, 2, 3, 5, 6, 7, 8, 9, 0]) missed.add(heard, 0.9, 0, 0);
      assert.throws(() => missed.check(), /from word 5 on, the words were heard as the digit after .* missed/);
      // Two wrong words that are not a slip (a weak model) still make a count.
      const rough = new CountTally(1);
      for (const heard of [0, 1, 2, 3, 4, 5, 6, 7, 7, 1]) rough.add(heard, 0.9, 0, 0);
      rough.check();
    });

    it('digits enroll --counting records the count from the microphone (PortAudio over an ALSA file device)', async function () {
      skipWithoutCapture(this);
      const audio = await counting(1);
      const dev = makeAlsaFileDevice(audio, 8000);
      try {
        const r = spawnSync(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'enroll', '--counting', '--repeats', '1', '--capture-rate', '8000', '--capture-latency', String(Math.ceil(audio.length / 8000) + 1), '--out', join(work, 'mic.onnx')],
          { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ALSA_CONFIG_PATH: dev.configPath }, timeout: 120_000 },
        );
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /Count from zero to nine with a short pause/);
        assert.match(r.stderr, /\n {2}9 {2}heard/);
        assert.match(r.stdout, /wrote .*mic\.onnx/);
        assert.deepEqual(parseModelMetadata(new Uint8Array(readFileSync(join(work, 'mic.onnx')))).enrollment?.clipsPerDigit, new Array(10).fill(1));
      } finally {
        dev.remove();
      }
      const empty = makeEmptyAlsaConfig();
      try {
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'enroll', '--counting', '--out', join(work, 'none.onnx')], {
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1', ALSA_CONFIG_PATH: empty.configPath },
          timeout: 60_000,
        });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^digits: .*(no (default )?input device|microphone)/im);
      } finally {
        empty.remove();
      }
    });
  });
});
