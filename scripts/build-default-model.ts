/**
 * Turns a `digits train` run into the shipped default model:
 *   npx tsx scripts/build-default-model.ts --run runs/cnn-1 [--loso runs/cnn-loso/loso.json ...]
 *       [--data /path/to/fsdd] [--out models] [--name default]
 * Several --run: their models are fused into one ensemble model (src/train/onnx/fuse.ts; the first
 * run is a log-mel model and sets the features, the rejection threshold is calibrated on the first
 * run's validation clips); --loso is then the ensemble's loso.json from scripts/loso-ensemble.ts.
 * Quantizes the run's fp32 ONNX (int8 QDQ, calibrated on 300 balanced training clips), measures
 * fp32 and int8 with onnxruntime on the FSDD test split (clean and in babble at 10 and 5 dB SNR),
 * keeps int8 only if it ties or beats fp32 on test accuracy, writes the measured metrics into each
 * file's metadata and into models/<name>.card.json/.md, and each file's normalization targets (for
 * speaker adaptation, scripts/add-norm-targets.ts) measured on the FSDD train split.
 *   npx tsx scripts/build-default-model.ts --from-model models/default.onnx [--int4-min-weights N]
 * starts from an fp32 model this script built before instead of runs (their folders need not exist):
 * its training record, figures and leave-one-speaker-out result (unless --loso is given) are kept,
 * everything else is measured again. --int4-min-weights gives the largest layers 4-bit weights
 * (src/train/onnx/quantize.ts) in every int8 variant. --variant pins the int8 variant (a name of
 * QUANTIZATION_VARIANTS with dashes for spaces, e.g. int8-all-minmax) instead of taking the fastest
 * one that keeps accuracy: variants within timing noise of each other could otherwise swap between
 * two builds of the same model. A pinned variant is still kept only if it ties fp32's accuracy.
 * --novelty-gate Q appends the novelty gate (src/train/onnx/novelty.ts) to the fp32 model before it
 * is quantized, its threshold at the Q quantile of the training digits' scores, fitted on the FSDD
 * train split plus the synthetic speakers (--synthetic DIR, default the cache) and their words;
 * --novelty-rank K keeps K directions of each of its distances (a smaller gate; default all).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ort } from '../src/model/ort.js';
import { listFsddClips } from '../src/data/clips.js';
import { loadFsdd } from '../src/data/fsdd.js';
import { officialSplit, validationSplit } from '../src/data/splits.js';
import { featureDimension } from '../src/features/config.js';
import { loadFeatureBackend } from '../src/features/index.js';
import { METADATA_KEYS } from '../src/model/metadata.js';
import { parseModelMetadata } from '../src/model/read-metadata.js';
import { babbleStream } from '../src/model/evaluate.js';
import { speechCutter } from '../src/stream/core.js';
import { NONE_LABEL_INDEX, defaultSyntheticDir, findSynthetic, loadAudio, noneExamples } from '../src/train/dataset.js';
import { clipFeatureBatches, pickCalibrationClips } from '../src/train/onnx/calibration.js';
import { QUANTIZATION_VARIANTS, chooseQuantization } from '../src/train/onnx/choose.js';
import { fuseEnsemble } from '../src/train/onnx/fuse.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { type NoveltyRecord, appendNoveltyGate, fitNoveltyGateOnAudio, noveltyFitSet } from '../src/train/onnx/novelty.js';
import { Rng } from '../src/train/random.js';
import { parsePositiveInt } from '../src/cli/options.js';
import { FSDD_TARGET_CLIPS, withFsddNormTargets } from '../src/model/norm-targets.js';
import { NORM_TARGETS_KEY } from '../src/model/norm-adapt.js';

const { values } = parseArgs({
  options: {
    run: { type: 'string', multiple: true },
    'from-model': { type: 'string' },
    'int4-min-weights': { type: 'string' },
    variant: { type: 'string' },
    'novelty-gate': { type: 'string' },
    'novelty-rank': { type: 'string' },
    synthetic: { type: 'string' },
    // loso.json of `digits train --loso ...`; repeatable (folds run as separate processes are merged).
    loso: { type: 'string', multiple: true },
    data: { type: 'string' },
    out: { type: 'string', default: 'models' },
    name: { type: 'string', default: 'default' },
    // Share of correctly recognised validation digits the rejection threshold may turn into "no digit".
    'reject-quantile': { type: 'string', default: '0' },
    // The exact commands that made the run (repeatable); recorded in the card's "reproduce".
    command: { type: 'string', multiple: true },
  },
});
if (!values.run?.length === !values['from-model']) {
  process.stderr.write('usage: npx tsx scripts/build-default-model.ts (--run RUN_DIR [--run RUN_DIR ...] | --from-model FP32.onnx) [--loso loso.json] [--int4-min-weights N] [--variant NAME] [--novelty-gate Q [--novelty-rank K] [--synthetic DIR]] [--data FSDD] [--out models] [--name default]\n');
  process.exit(2);
}
const gateQuantile = values['novelty-gate'] === undefined ? undefined : Number(values['novelty-gate']);
if (gateQuantile !== undefined && !(gateQuantile > 0 && gateQuantile < 1)) {
  process.stderr.write(`--novelty-gate ${values['novelty-gate']}: a quantile between 0 and 1, e.g. 0.995\n`);
  process.exit(2);
}
const gateRank = values['novelty-rank'] === undefined ? undefined : parsePositiveInt('--novelty-rank', values['novelty-rank']);
if (gateRank !== undefined && gateQuantile === undefined) {
  process.stderr.write('--novelty-rank shapes the gate --novelty-gate adds; give both\n');
  process.exit(2);
}
const int4MinWeights = values['int4-min-weights'] === undefined ? undefined : parsePositiveInt('--int4-min-weights', values['int4-min-weights']);
const slug = (variantName: string) => variantName.replaceAll(' ', '-');
const pinned = values.variant === undefined ? undefined : QUANTIZATION_VARIANTS.find((v) => v.options && slug(v.name) === values.variant);
if (values.variant !== undefined && !pinned) {
  const known = QUANTIZATION_VARIANTS.filter((v) => v.options).map((v) => slug(v.name));
  process.stderr.write(`--variant ${values.variant}: not a quantization variant (one of ${known.join(', ')})\n`);
  process.exit(2);
}
const fromModel = values['from-model'] ? path.resolve(values['from-model']) : undefined;
const runDirs = (values.run ?? []).map((r) => path.resolve(r));
const outDir = path.resolve(values.out!);
const name = values.name!;
const source = fromModel ?? path.join(runDirs[0], 'model.onnx');
const runModels = fromModel ? [new Uint8Array(fs.readFileSync(fromModel))] : runDirs.map((d) => new Uint8Array(fs.readFileSync(path.join(d, 'model.onnx'))));
const ungated = runModels.length === 1 ? runModels[0] : fuseEnsemble(runModels, { sources: runDirs.map((d) => path.join(d, 'model.onnx')) });
const { featureConfig: config, labels, speechTrim, modelType, training: modelTraining, precision, metrics: priorMetrics } = parseModelMetadata(ungated, source);
if (precision !== 'fp32') throw new Error(`${source} is ${precision}; start from the fp32 model`);
/** What each member's run recorded: its card.json, or (from a built model) the training record the model file carries. */
type RunCard = { modelType: string; featureConfig?: { kind: string }; training: Record<string, any> };
const members = (modelTraining as { members?: { modelType: string; features: string; training: Record<string, any> }[] }).members;
const runCards: RunCard[] = fromModel
  ? (members?.map((m) => ({ modelType: m.modelType, featureConfig: { kind: m.features }, training: m.training })) ?? [{ modelType, featureConfig: config, training: modelTraining }])
  : runDirs.map((d) => JSON.parse(fs.readFileSync(path.join(d, 'card.json'), 'utf8')));
const [runCard] = runCards;
// An ensemble's figures are its members': <name>.m<k>.curves.svg. A model built before brings its own.
const figureName = (k: number, svg: string) => (runCards.length === 1 ? `${name}.${svg}` : `${name}.m${k}.${svg}`);
const figureSources = fromModel ? runCards.map((_, k) => (svg: string) => path.join(path.dirname(fromModel), figureName(k, svg))) : runDirs.map((d) => (svg: string) => path.join(d, svg));
const missingFigures = figureSources.flatMap((from) => ['curves.svg', 'confusion.svg'].map(from)).filter((f) => !fs.existsSync(f));
if (missingFigures.length) {
  process.stderr.write(`missing figures: ${missingFigures.join(', ')}; ${fromModel ? '--from-model needs the folder a build wrote (the model, its card and figures)' : 'each --run folder needs the curves and confusion figures `digits train` writes'}\n`);
  process.exit(2);
}
// The commands that made a model built before, from its card (its own rebuild line is replaced).
const priorCard = fromModel ? fromModel.replace(/(\.int8)?\.onnx$/, '.card.json') : '';
const priorReproduce: string[] | undefined =
  fromModel && fs.existsSync(priorCard) ? (JSON.parse(fs.readFileSync(priorCard, 'utf8')).reproduce as string[]).filter((l) => !l.includes('--from-model')) : undefined;
const log = (s: string) => process.stderr.write(`${s}\n`);
const backend = await loadFeatureBackend();
const fsdd = await loadFsdd({ data: values.data });
const clips = listFsddClips(fsdd.dir);
const split = officialSplit(clips);
let fp32 = ungated;
if (gateQuantile !== undefined) {
  const synthetic = findSynthetic(values.synthetic ?? defaultSyntheticDir());
  log(`novelty gate: fitting on ${split.train.length + synthetic.digits.length} training digits (clean and in babble) and ${synthetic.words.length} "none" clips`);
  fp32 = appendNoveltyGate(ungated, await fitNoveltyGateOnAudio(ungated, noveltyFitSet(split.train, synthetic, config.sampleRate, backend), { quantile: gateQuantile, rank: gateRank }));
}
/** The model's training record, with the novelty gate's description when it has one (added here or by an earlier build). */
const trainingRecord = parseModelMetadata(fp32, source).training as Record<string, any>;
const novelty = trainingRecord.novelty as NoveltyRecord | undefined;
const frames = config.numFrames;
const dims = featureDimension(config);

// Every clip goes in as the recognizer would give it to the model: cut to its speech when the
// model was trained so (after mixing, for the babble clips, as with a noisy recording).
const cut = await speechCutter(speechTrim, config.sampleRate, backend.name);
log(`features: ${backend.name}; clips cut to speech: ${speechTrim ? JSON.stringify(speechTrim) : 'no'}; calibrating on 300 training clips`);
const calibration = clipFeatureBatches(pickCalibrationClips(clips, 300, 1), config, backend, 32, cut);
const testAudio = loadAudio(split.test, config.sampleRate, backend);
const testLabels = split.test.map((c) => labels.indexOf(String(c.digit)));
const extractor = backend.createExtractor(config);
const batchOf = (audio: Float32Array[]) => {
  const data = new Float32Array(audio.length * frames * dims);
  audio.forEach((a, i) => data.set(extractor.compute(cut(a)).data, i * frames * dims));
  return { data, dims: [audio.length, frames, dims] };
};
const clean = batchOf(testAudio);
// Babble from training takes (never test clips), seeded, the same mixtures for every model.
const babblePool = loadAudio(split.train, config.sampleRate, backend);
const babble: Record<string, ReturnType<typeof batchOf>> = {};
for (const snr of [10, 5]) {
  babble[snr] = batchOf(testAudio.map(babbleStream({ snrDb: snr, pool: babblePool })));
}

// A word as a user records it: 0.5 s of faint room noise (-60 dBFS) before it and 0.3 s after.
const padRng = new Rng(4000);
const padded = batchOf(
  testAudio.map((a) => {
    const x = new Float32Array(4000 + a.length + 2400);
    for (let i = 0; i < x.length; i++) x[i] = (padRng.next() * 2 - 1) * 1e-3;
    x.set(a, 4000);
    return x;
  }),
);

const choice = await chooseQuantization(fp32, calibration, {
  evaluation: { batches: [clean], labels: testLabels },
  latencyTolerance: Infinity,
  common: { int4MinWeights },
  variants: pinned && [pinned],
});
log(`quantization: keep ${choice.keep} — ${choice.why}`);
for (const r of choice.results) log(`  ${r.variant.padEnd(20)} ${r.bytes} B  acc ${(100 * r.accuracy).toFixed(2)}%  p50 ${r.p50us.toFixed(0)} µs`);

async function measure(bytes: Uint8Array) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  // `gate`: count a clip as wrong when its top probability is below the rejection threshold too,
  // as `digits eval` / the recognizer do.
  const accuracy = async (b: ReturnType<typeof batchOf>, gate = false) => {
    const p = (await session.run({ features: new ort.Tensor('float32', b.data, b.dims) })).probabilities.data as Float32Array;
    let correct = 0;
    testLabels.forEach((l, i) => {
      const row = p.subarray(i * labels.length, (i + 1) * labels.length);
      let best = 0;
      for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
      if (best === l && (!gate || row[best] >= threshold)) correct++;
    });
    return Number((correct / testLabels.length).toFixed(4));
  };
  return {
    testAccuracy: await accuracy(clean),
    testAccuracyWithRejection: await accuracy(clean, true),
    babble: { '10dB': await accuracy(babble[10]), '5dB': await accuracy(babble[5]) },
    padded: await accuracy(padded),
    babbleWithRejection: { '10dB': await accuracy(babble[10], true), '5dB': await accuracy(babble[5], true) },
  };
}

// Rejection threshold, recalibrated on the run's own validation clips (same seeded split as
// training): the top probability of the q-quantile of correctly recognised digits. Non-digit
// rejection is measured on fresh noise and near-silence clips.
const quantile = Number(values['reject-quantile']);
const training0 = runCard.training;
const valClips = validationSplit(split.train, { fraction: 0.1, seed: training0.seed }).validation;
const valBatch = batchOf(loadAudio(valClips, config.sampleRate, backend));
const noneRng = new Rng(training0.seed + 99);
const noneBatch = batchOf(noneExamples([], 60, config.sampleRate, noneRng).map((e) => (typeof e.audio === 'function' ? e.audio(noneRng) : e.audio)));
async function topOf(bytes: Uint8Array, b: ReturnType<typeof batchOf>) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const p = (await session.run({ features: new ort.Tensor('float32', b.data, b.dims) })).probabilities.data as Float32Array;
  return Array.from({ length: b.dims[0] }, (_, i) => {
    const row = p.subarray(i * labels.length, (i + 1) * labels.length);
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
    return { best, confidence: row[best] };
  });
}
const valTop = await topOf(fp32, valBatch);
const correctConf = valTop.filter((t, i) => t.best === labels.indexOf(String(valClips[i].digit))).map((t) => t.confidence).sort((a, b) => a - b);
const threshold = Number(Math.max(0, Math.min(0.99, correctConf[Math.floor(correctConf.length * quantile)] - 1e-4)).toFixed(4));
const rejectedShare = (tops: { best: number; confidence: number }[]) => tops.filter((t) => t.best === NONE_LABEL_INDEX || t.confidence < threshold).length / tops.length;
const rejection = {
  threshold,
  rule:
    quantile === 0
      ? `just below the top probability of the least confident correctly recognised validation digit (${valClips.length} FSDD validation clips)`
      : `top probability of the ${quantile} quantile of correctly recognised validation digits (${valClips.length} FSDD validation clips)`,
  digitsRejected: Number(rejectedShare(valTop).toFixed(4)),
  noiseRejected: labels.includes('none') ? Number(rejectedShare(await topOf(fp32, noneBatch)).toFixed(4)) : null,
};
log(`rejection threshold ${threshold}: rejects ${(100 * rejection.digitsRejected).toFixed(2)}% of validation digits, ${rejection.noiseRejected === null ? 'n/a' : (100 * rejection.noiseRejected).toFixed(2)}% of noise/silence`);

const fp32Metrics = await measure(fp32);
const int8Metrics = choice.int8 ? await measure(choice.int8) : null;
const loso = values.loso?.length ? mergeLoso(values.loso) : null;
// A model built before keeps its recorded leave-one-speaker-out result: it measures the training
// recipe (fp32 folds in tfjs), which re-quantizing does not change.
const losoMetrics = loso
  ? {
      mean: Number(loso.mean.toFixed(4)),
      folds: Object.fromEntries(loso.folds.map((f) => [f.speaker, Number(f.accuracy.toFixed(4))])),
      perDigit: Object.fromEntries(loso.folds.filter((f) => f.perDigit).map((f) => [f.speaker, f.perDigit])),
      foldsCompleted: loso.folds.length,
      epochs: loso.epochs,
      note: 'same architecture and recipe, trained on 5 speakers and tested on the 6th, fp32 in tfjs',
    }
  : fromModel
    ? ((priorMetrics.loso as { mean: number; folds: Record<string, number>; perDigit: Record<string, Record<string, number>>; foldsCompleted: number; epochs: number } | null | undefined) ?? null)
    : null;
const metrics = {
  fp32: fp32Metrics,
  ...(int8Metrics ? { int8: int8Metrics } : {}),
  ...(losoMetrics ? { loso: losoMetrics } : {}),
  rejection,
  quantization: { keep: choice.keep, variant: choice.variant, why: choice.why },
};

interface LosoFile {
  arch: string;
  epochs: number;
  utteranceNorm?: boolean;
  folds: { speaker: string; accuracy: number; perDigit?: Record<string, number> }[];
}

/** One leave-one-speaker-out result from several loso.json files of the same recipe (one fold per speaker). */
function mergeLoso(files: string[]): LosoFile & { mean: number } {
  const parts: LosoFile[] = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const [first] = parts;
  for (const [i, p] of parts.entries()) {
    if (p.arch !== first.arch || p.epochs !== first.epochs || Boolean(p.utteranceNorm) !== Boolean(first.utteranceNorm)) {
      throw new Error(`${files[i]}: recipe (${p.arch}, ${p.epochs} epochs) differs from ${files[0]} (${first.arch}, ${first.epochs} epochs)`);
    }
  }
  const folds = parts.flatMap((p) => p.folds);
  const speakers = folds.map((f) => f.speaker);
  if (new Set(speakers).size !== speakers.length) throw new Error(`a speaker appears in more than one --loso file: ${speakers.join(', ')}`);
  if (first.arch !== modelType) throw new Error(`the LOSO folds are for ${first.arch}, the model is ${modelType}`);
  return { ...first, folds, mean: folds.reduce((a, f) => a + f.accuracy, 0) / folds.length };
}

function withMetrics(bytes: Uint8Array, precision: 'fp32' | 'int8'): Uint8Array {
  const m = decodeModel(bytes);
  const own = precision === 'fp32' ? fp32Metrics : int8Metrics!;
  m.metadata[METADATA_KEYS.metrics] = JSON.stringify({ testAccuracy: own.testAccuracy, babble: own.babble, padded: own.padded, loso: losoMetrics, rejection });
  m.metadata[METADATA_KEYS.rejection] = JSON.stringify({ threshold });
  return encodeModel(m);
}

fs.mkdirSync(outDir, { recursive: true });
// Normalization targets (speaker adaptation, src/model/norm-adapt.ts), measured on each file as written.
fs.writeFileSync(path.join(outDir, `${name}.onnx`), await withFsddNormTargets(withMetrics(fp32, 'fp32'), fsdd.dir));
if (choice.int8) fs.writeFileSync(path.join(outDir, `${name}.int8.onnx`), await withFsddNormTargets(withMetrics(choice.int8, 'int8'), fsdd.dir));
else fs.rmSync(path.join(outDir, `${name}.int8.onnx`), { force: true });
// A build from runs first removes the figures of an earlier build (perhaps with another number of members).
if (!fromModel) for (const f of fs.readdirSync(outDir)) if (f.startsWith(`${name}.`) && f.endsWith('.svg')) fs.rmSync(path.join(outDir, f));
for (const [k, from] of figureSources.entries())
  for (const svg of ['curves.svg', 'confusion.svg']) {
    const to = path.join(outDir, figureName(k, svg));
    if (path.resolve(from(svg)) !== to) fs.copyFileSync(from(svg), to);
  }

const training = runCard.training;
const int4Flag = int4MinWeights ? ` --int4-min-weights ${int4MinWeights}` : '';
const nameFlag = name === 'default' ? '' : ` --name ${name}`;
const variantFlag = `${pinned ? ` --variant ${slug(pinned.name)}` : ''}${gateQuantile !== undefined ? ` --novelty-gate ${gateQuantile}` : ''}${gateRank !== undefined ? ` --novelty-rank ${gateRank}` : ''}`;
const losoFlags = (values.loso ?? []).map((f) => ` --loso ${path.relative(process.cwd(), path.resolve(f))}`).join('');
const buildCommand = fromModel
  ? `npx tsx scripts/build-default-model.ts --from-model ${path.relative(process.cwd(), fromModel)}${int4Flag}${variantFlag}${nameFlag}${losoFlags}`
  : `npx tsx scripts/build-default-model.ts${values.command ? values.run!.map((r) => ` --run ${r}`).join('') : ` --run runs/${name}`}${nameFlag}${int4Flag}${values.command ? losoFlags : loso ? ` --loso runs/${name}-loso/loso.json` : ''}`;
const card = {
  name: `spoken-digits ${name}`,
  modelType,
  labels,
  // `digits doctor` checks each shipped file against files[name].sha256.
  files: Object.fromEntries(
    [`${name}.onnx`, ...(choice.int8 ? [`${name}.int8.onnx`] : [])].map((f) => {
      const bytes = fs.readFileSync(path.join(outDir, f));
      return [f, { precision: f.includes('.int8.') ? 'int8' : 'fp32', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }];
    }),
  ),
  figures: runCards.map((_, k) => ({ curves: figureName(k, 'curves.svg'), confusion: figureName(k, 'confusion.svg') })),
  featureConfig: { ...config, normalization: '(in the model file metadata)' },
  rejection: { threshold },
  training: trainingRecord,
  metrics,
  reproduce: fromModel
    ? [...(priorReproduce ?? values.command ?? []), buildCommand]
    : [
        'bash scripts/synthesize-speakers.sh',
        ...(values.command ?? [
          `digits train --arch ${runCard.modelType} --epochs ${training.options?.epochs ?? '?'} --seed ${training.seed} --synthetic --synthetic-digits ${training.data?.synthetic?.digitClips ?? 0} --out runs/${name}`,
          ...(loso ? [`digits train --arch ${runCard.modelType} --loso all --epochs ${loso.epochs} --synthetic --synthetic-digits ${training.data?.synthetic?.digitClips ?? 0} --out runs/${name}-loso`] : []),
        ]),
        buildCommand,
      ],
};
fs.writeFileSync(path.join(outDir, `${name}.card.json`), `${JSON.stringify(card, null, 2)}\n`);

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
/** The three digits a held-out speaker lost most, e.g. "9 (62%), 5 (80%), 1 (88%)". */
const weakestDigits = (perDigit: Record<string, number> | undefined) =>
  perDigit
    ? Object.entries(perDigit)
        .sort((a, b) => a[1] - b[1])
        .slice(0, 3)
        .map(([d, v]) => `${d} (${(100 * v).toFixed(0)}%)`)
        .join(', ')
    : '';
const rows = [['fp32', fp32Metrics] as const, ...(int8Metrics ? [['int8', int8Metrics] as const] : [])];
const md = [
  `# Model card: spoken-digits ${name} (${modelType})`,
  '',
  `Recognises a spoken digit 0-9${labels.includes('none') ? ', or "none" (not a digit)' : ''}, from ~${((frames * config.hopLength) / config.sampleRate).toFixed(2)} s of ${config.sampleRate} Hz audio`,
  `(${config.kind} ${dims} x ${frames} frames, computed by the DSP core with the config stored in the file).`,
  '',
  '## Measured (onnxruntime-node, FSDD official test split, 300 clips of the 6 FSDD speakers)',
  'Top-class accuracy; in brackets with the rejection threshold applied (a clip below it counts as wrong, as in `digits eval`).',
  '',
  '| file | size | test | babble 10 dB | babble 5 dB | padded with silence |',
  '|---|---|---|---|---|---|',
  ...rows.map(([p, m]) => [p === 'fp32' ? `${name}.onnx` : `${name}.int8.onnx`, m] as const).map(
    ([file, m]) =>
      `| ${file} | ${(card.files[file].bytes / 1024).toFixed(1)} KB | ${pct(m.testAccuracy)} (${pct(m.testAccuracyWithRejection)}) | ${pct(m.babble['10dB'])} (${pct(m.babbleWithRejection['10dB'])}) | ${pct(m.babble['5dB'])} (${pct(m.babbleWithRejection['5dB'])}) | ${pct(m.padded)} |`,
  ),
  '',
  'Babble: each test clip mixed with 3-7 other FSDD training clips (seeded), SNR over the whole clip. Padded: each test clip with 0.5 s of faint room noise (-60 dBFS) before it and 0.3 s after, as a recording would have.',
  '',
  `Quantization: ${choice.keep === 'int8' ? 'int8 kept' : 'int8 not kept'} — ${choice.why}. 8-bit weights are -63..63 per output channel, so that no 16-bit sum saturates on x86 CPUs without VNNI.${int4MinWeights ? ` Weights of layers with at least ${int4MinWeights} values are 4-bit (-7..7 per output channel, packed two per byte, unpacked to int8 when the model loads: the same int8 kernels, a smaller file).` : ''}`,
  '',
  `Normalization targets (metadata \`${NORM_TARGETS_KEY}\`): each convolution output channel's mean and variance over the ${FSDD_TARGET_CLIPS}, what speaker adaptation of the normalization (\`digits eval --adapt-norm\`, \`digits listen --adapt-norm\`, \`NormAdapter\`) restores for a new voice; measured on each file as written.`,
  '',
  losoMetrics
    ? [
        `## Leave-one-speaker-out (${losoMetrics.foldsCompleted} of 6 folds, ${losoMetrics.epochs} epochs each): mean ${pct(losoMetrics.mean)}`,
        '',
        runCards.length === 1
          ? `Each fold trains the ${modelType} from scratch on 5 speakers${training.initFrom ? ' (the base recipe, without the babble fine-tune)' : ''}${training.teacher ? ", distilled from that fold's own teacher (trained on the same 5 speakers)" : ''} and tests all 500 clips of the 6th.`
          : `Each fold trains every member from scratch on 5 speakers${training.initFrom ? ' (the base recipe, without the babble fine-tune)' : ''} and tests the mean of their probabilities on all 500 clips of the 6th.`,
        '',
        '| held-out speaker | accuracy | weakest digits |',
        '|---|---|---|',
        ...Object.entries(losoMetrics.folds).map(([s, v]) => `| ${s} | ${pct(v as number)} | ${weakestDigits(losoMetrics.perDigit[s])} |`),
        '',
        'This predicts accuracy on voices outside FSDD better than the test split does (the test split has the same six speakers as training).',
      ].join('\n')
    : '## Leave-one-speaker-out: not measured for this model.',
  '',
  '## Training',
  ...(runCards.length > 1
    ? [
        `- An ensemble of ${runCards.length} models fused into one ONNX graph: the mean of their probabilities. Features are computed once (${config.kind}); each other member gets its own view through a fixed per-frame linear map in the graph (an MFCC is the DCT of the log-mel frame).`,
      ]
    : []),
  ...runCards.flatMap((c, k) => {
    const t = c.training;
    const who = runCards.length === 1 ? '' : `Member ${k + 1} (${c.modelType}, ${c.featureConfig?.kind ?? '?'} features): `;
    return [
      `- ${who}${t.data?.split}; ${t.data?.trainClips} FSDD clips (+ ${t.data?.synthetic?.digitClips ?? 0} synthetic espeak-ng digit clips; not-a-digit class: ${t.data?.notADigit ? 'yes' : 'no'}), seed ${t.seed}${t.initFrom ? ', fine-tuned from an earlier run\'s weights (`--init-from`) with babble-heavy augmentation (see the commands below)' : ''}.`,
      ...(t.teacher
        ? [`  Distilled (\`--teacher\`): ${100 * t.teacher.distillWeight}% of each target is the probabilities of the teacher ${t.teacher.file} (${t.teacher.modelType}) on the same augmented batch, the rest the label-smoothed label.`]
        : []),
      `  ${t.parameters} parameters, ${t.epochs} epochs (best validation at ${t.bestEpoch}); tfjs ${t.backend?.training} backend, ${t.secondsPerEpoch} s/epoch on a shared 2-core machine.`,
    ];
  }),
  training.options?.augment === false
    ? '- No augmentation.'
    : `- Augmentation: time shift, speed, voice (pitch + formant) shift, gain, white/pink/brown/babble noise at 0-30 dB SNR, EQ/band limits, light reverb; SpecAugment.`,
  ...(speechTrim
    ? [
        `- Every clip was cut to its speech by the core's speechExtent (${JSON.stringify(speechTrim)}); the recognizer cuts whole clips the same way (metadata \`spoken_digits.speech_trim\`), so the figures above are for clips as on disk, cut by the recognizer.`,
      ]
    : []),
  `- Rejection threshold ${threshold} (top probability below it = "no digit"): ${rejection.rule}; it rejects ${(100 * rejection.digitsRejected).toFixed(2)}% of validation digits${rejection.noiseRejected === null ? '' : ` and ${(100 * rejection.noiseRejected).toFixed(2)}% of noise/silence clips`}.`,
  ...(novelty
    ? [
        `- Novelty gate in the graph (src/train/onnx/novelty.ts): an input whose pooled embedding is further from every digit class than from the "none" clips, by more than ${novelty.threshold} (the ${(100 * novelty.quantile).toFixed(1)}th percentile of ${novelty.fittedOn.digits} training digits' scores; Mahalanobis distances along ${novelty.rank} directions each, covariances shrunk ${novelty.shrink}), gives ${100 * novelty.moved}% of its digits' probability to "none".`,
      ]
    : []),
  '',
  '## Reproduce',
  '```',
  ...card.reproduce,
  '```',
  '',
].join('\n');
fs.writeFileSync(path.join(outDir, `${name}.card.md`), md);
extractor.dispose();
log(`wrote ${outDir}/${name}.onnx${choice.int8 ? `, ${name}.int8.onnx` : ''}, ${name}.card.json, ${name}.card.md`);
process.stdout.write(`${JSON.stringify(metrics, null, 2)}\n`);
