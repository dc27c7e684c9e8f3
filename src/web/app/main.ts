import './style.css';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { ort, streamCore, WebRecognizer, type ClipInput, type PieceRecognition, type Recognition } from '../recognizer.js';
import { Microphone, type MicState } from '../microphone.js';
import { decodeFile } from './decode.js';
import { StreamDecoder, type DecoderEvents, type DecoderSink, type DigitEvent } from '../../stream/decoder.js';
import { batchClassifier, type SegmentAudio } from '../../stream/segmenter.js';
import type { SpeechTrim } from '../../model/metadata.js';
import { heardNoWord, REJECTED_WHY, topLabels } from '../../model/decision.js';
import { VoiceAdapter, type ShiftableRecognizer } from '../../model/voice-adapt.js';
import { VoiceObserver } from '../../stream/voice-observer.js';
import { NormAdapter, type NormAdaptable } from '../../model/norm-adapter.js';
import { NormObserver, type NormAdaptEvent } from '../../stream/norm-observer.js';
import { ModelError } from '../../errors.js';
import { clippedNote, clippedShare, CLIPPED_NOTE_SHARE } from '../../audio/pcm.js';
import { modelWindowMs } from '../../features/config.js';
import { CountTally, DIGIT_WORDS } from '../../stream/count-tally.js';
import type { LabelledPcm } from '../../model/personalize.js';
import { deletePersonalModel, loadPersonalModel, savePersonalModel, type PersonalModel } from './personal-store.js';
import { isMode, isModelName, loadSettings, MODES, saveSettings, Stats, type HistoryEntry, type Mode, type Settings } from './store.js';
import { WaveformView, drawFeatures, drawLatencyChart } from './views.js';
import { VisitorClock, forgetAfterMs } from './visitor-clock.js';

// ORT's wasm binary comes from this build's own output (never a CDN), named by its content hash.
ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };

/** What the browser tests read (and what a kiosk operator can inspect from the console). */
interface Probe {
  ready: boolean;
  modelLoadedMs: number | null;
  firstResultMs: number | null;
  /** When the microphone first delivered audio (ms after navigation). */
  micOnMs: number | null;
  /** Seconds of audio the current microphone stream has delivered (its timeline as blocks arrive). */
  micSeconds: number;
  /** `span`: where a microphone result's speech lies in the stream's timeline (ms from its first block). */
  results: { digit: number | null; candidate: number; confidence: number; computeMs: number; latencyMs: number | null; source: string; span?: [number, number] }[];
  errors: string[];
  micState: MicState;
  /** Digit strings of continuous mode, closed by a pause (the decoder's `string` events). */
  strings: string[];
  /** Speaker adaptation: whether it is on, the voice shift in use and the digits it rests on. */
  voice: { adapting: boolean; factor: number; utterances: number };
  /**
   * Normalization adaptation: whether it is on (and the model can: `available`), the digits it observed,
   * how many the normalization in use was adapted on (0: the model's own), whether the last change was a
   * drop (the speech lately mostly not digits), the share of digits in the speech heard lately,
   * whether the last layers were refitted too (once every digit was heard), and whether the
   * normalization in use was adapted in a Web Worker (off the page's thread).
   */
  norm: { adapting: boolean; available: boolean; observed: number; adaptedOn: number; dropped: boolean; digitShare: number; selfEnrolled: boolean; inWorker: boolean; stopped: boolean };
  /** "My voice": the words heard while counting ([digit it should be, heard]), then the personal model's scores, or why it failed. */
  enrollment: { words: [number, number | null][]; state: 'idle' | 'counting' | 'fitting' | 'done' | 'failed'; voiceShift?: number; fit?: unknown; crossCheck?: unknown; error?: string };
  /** The personal model this browser keeps: whether there is one, and whether it is the page's model now. */
  personalModel: { stored: boolean; inUse: boolean; base?: string };
}
const probe: Probe = {
  ready: false,
  modelLoadedMs: null,
  firstResultMs: null,
  micOnMs: null,
  micSeconds: 0,
  results: [],
  errors: [],
  micState: 'off',
  strings: [],
  voice: { adapting: false, factor: 1, utterances: 0 },
  norm: { adapting: false, available: true, observed: 0, adaptedOn: 0, dropped: false, digitShare: 1, selfEnrolled: false, inWorker: false, stopped: false },
  enrollment: { words: [], state: 'idle' },
  personalModel: { stored: false, inUse: false },
};
(window as unknown as { __digits: Probe }).__digits = probe;
(window as unknown as { __digitsTest: unknown }).__digitsTest = { loseMicrophone: () => mic.simulateDeviceLoss() };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
/** Single mode's time limit from `?single-seconds=` (2-60 s): a value outside that range is not taken. */
const isSingleSeconds = (v: string) => Number(v) >= 2 && Number(v) <= 60;
/** What each address parameter takes: a value that fails its rule is not used (the default stands). */
const PARAM_RULES: Record<string, (value: string) => boolean> = {
  ...Object.fromEntries(['kiosk', 'listen', 'adapt', 'adaptnorm', 'sw'].map((p) => [p, (v: string) => v === '0' || v === '1'])),
  mode: isMode,
  model: isModelName,
  'single-seconds': isSingleSeconds,
  // Seconds > 0 (Infinity: never); see forgetAfterMs.
  'forget-voice': (v) => Number(v) > 0,
};
/**
 * Address parameters given with a value the page does not take (a typo, `kiosk=yes`, a model name with a
 * path in it, `single-seconds=abc`): said in the status once the model is loaded, instead of being ignored without a word.
 */
const ignoredParams = Object.entries(PARAM_RULES)
  .filter(([p, takes]) => params.has(p) && !takes(params.get(p)!))
  .map(([p]) => `${p}=${params.get(p)}`);
const kiosk = params.get('kiosk') === '1';
const settings: Settings = loadSettings();
const urlMode = params.get('mode');
if (isMode(urlMode)) settings.mode = urlMode;
if (kiosk) settings.mode = 'continuous';
// A model named in the URL is the one this visit uses, even when a personal model is kept.
const urlModel = isModelName(params.get('model')) ? params.get('model')! : undefined;
if (urlModel) {
  settings.model = urlModel;
  settings.personal = false;
}
// Like the mode, `adapt=1|0` and `adaptnorm=1|0` in the URL are for this visit only.
for (const [param, setting] of [['adapt', 'adaptVoice'], ['adaptnorm', 'adaptNorm']] as const) {
  if (params.get(param) === '1' || params.get(param) === '0') settings[setting] = params.get(param) === '1';
}

const stats = new Stats();
// The build writes the capture worklet out as a file of its own: the page's CSP allows no blob: scripts.
const mic = new Microphone({ workletUrl: './capture-worklet.js' });
mic.autoRecover = kiosk;
const waveform = new WaveformView($<HTMLCanvasElement>('waveform'));
let recognizer: WebRecognizer | undefined;
/** The personal model this browser keeps (never in kiosk mode), and whether `recognizer` is it. */
let personal: PersonalModel | undefined;
let personalInUse = false;
// Work that arrives before the model (a file dropped while the page loads) waits for it.
let modelReady!: () => void;
const modelLoaded = new Promise<void>((resolve) => (modelReady = resolve));
/** The running string: the digits said since the last number was closed by a pause (continuous mode) or cleared. */
let digitString = '';
/** A digit string shows at most its last this many digits (cut at the front: never wider or taller than the screen allows). */
const SHOWN_DIGITS = 16;
let listening = false; // continuous mode wants audio
let recording = false; // single mode is taking one digit
/** "My voice" is hearing the speaker count: the words so far and their audio. */
let enrolling: { tally: CountTally; clips: LabelledPcm[] } | undefined;
let recordTimer: ReturnType<typeof setTimeout> | undefined;
let inSpeech = false;
let queue: Promise<unknown> = Promise.resolve();

function setStatus(text: string, kind: 'ok' | 'warn' | 'error' = 'ok'): void {
  const el = $('status');
  // A live region: the same words again are not news (a kiosk retrying a missing microphone every 2 s).
  if (el.textContent === text && el.dataset.kind === kind) return;
  el.textContent = text;
  el.dataset.kind = kind;
}

/**
 * Says `text` to screen readers: a line added to the results' log (one polite live region; the big digit itself is
 * not read out). Each its own node, so that digits decided together (decoding catching up) are all said, in
 * order, and the same digit twice is said twice; the log keeps its last few lines.
 */
function announce(text: string): void {
  const el = $('announce');
  const line = document.createElement('p');
  line.textContent = text;
  el.append(line);
  while (el.childElementCount > 8) el.firstElementChild!.remove();
}

/** Why the page has no model (its load failed), while it has none. */
let noModel: string | undefined;
/** What is wrong with the microphone (lost, refused, none), while it is so: kept in view when a model arrives. */
let micProblem: string | undefined;
/** What the address asked that the page could not do (set once the model list is known): said beside the status's warnings. */
let addressNote = '';

/** A warning with the address's note after it, when there is one: a microphone's problem does not hide it, nor it the problem. */
function withAddressNote(text: string): string {
  return addressNote ? `${text} (${addressNote})` : text;
}

function reportError(where: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  probe.errors.push(`${where}: ${message}`);
  setStatus(`${where}: ${message}`, 'error');
  if (where === 'model' && !recognizer) noModel = `${where}: ${message}`;
  console.error(where, err);
}

function threshold(): number {
  return settings.threshold ?? recognizer?.info.rejection.threshold ?? 0.5;
}

// ---------------------------------------------------------------- results

function showResult(r: Recognition, source: string, latencyMs: number | null, span?: [number, number]): void {
  const digitEl = $('digit');
  digitEl.textContent = r.digit === null ? '?' : String(r.digit);
  digitEl.dataset.rejected = r.digit === null ? 'true' : 'false';
  $('conf-fill').style.width = `${Math.round(r.confidence * 100)}%`;
  // The big digit is hidden from screen readers: this line says it for them, and the live region announces it.
  const said = document.createElement('span');
  said.className = 'sr-only';
  said.textContent = r.digit === null ? '' : `digit ${r.digit}, `;
  // No word heard (a silent file, a click): said so, not "not a digit" with a best guess at nothing.
  const unheard = heardNoWord(r.rejectedBy) ? REJECTED_WHY[r.rejectedBy!] : undefined;
  $('confidence').replaceChildren(
    said,
    unheard ?? (r.digit === null ? `not a digit (best ${r.candidate}, ${(r.confidence * 100).toFixed(0)}%)` : `confidence ${(r.confidence * 100).toFixed(0)}%`),
  );
  if (source !== 'warm-up') announce(unheard ?? (r.digit === null ? 'not a digit' : String(r.digit)));
  // The running string is what was said; files go to the batch table only.
  if (r.digit !== null && source === 'microphone') {
    digitString += String(r.digit);
    $('digit-string').textContent = shownDigits(digitString);
  }
  // Anything the visitor said, a digit or a word rejected, is on screen until they have been gone a while.
  if (source === 'microphone') visitor.spoke();
  $('top3').replaceChildren(
    ...r.top.map((t) => {
      const s = document.createElement('span');
      s.textContent = `${t.label} ${(t.probability * 100).toFixed(0)}%`;
      return s;
    }),
  );
  lastShown = r;
  drawLastFeatures();
  const entry: HistoryEntry = { time: new Date(), digit: r.digit, candidate: r.candidate, confidence: r.confidence, computeMs: r.computeMs, latencyMs, source };
  stats.add(entry);
  addHistoryRow(entry);
  renderStats();
  probe.results.push({ digit: r.digit, candidate: r.candidate, confidence: r.confidence, computeMs: r.computeMs, latencyMs, source, span });
  // A kiosk runs for days: keep the probe bounded like the history.
  if (probe.results.length > 1000) probe.results.splice(0, probe.results.length - 1000);
  if (probe.firstResultMs === null && source !== 'warm-up') probe.firstResultMs = performance.now();
}

/** A digit string as shown: its last SHOWN_DIGITS digits, after an ellipsis when it is longer. */
function shownDigits(digits: string): string {
  return digits.length > SHOWN_DIGITS ? `…${digits.slice(-SHOWN_DIGITS)}` : digits;
}

/** The result area back to its empty state (no digit, no confidence, no features). */
function clearResult(): void {
  const digitEl = $('digit');
  digitEl.textContent = '–';
  digitEl.dataset.rejected = 'false';
  digitEl.removeAttribute('aria-label');
  $('conf-fill').style.width = '0';
  $('confidence').textContent = 'confidence –';
  $('top3').replaceChildren();
  lastShown = undefined;
  const canvas = $<HTMLCanvasElement>('features');
  canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
  $('features-caption').textContent = 'of the last utterance';
}

let lastShown: Recognition | undefined;
let featureView: 'mel' | 'model' = 'mel';

function drawLastFeatures(): void {
  const r = lastShown;
  if (!r || !recognizer) return;
  const cfg = recognizer.info.featureConfig;
  const timing = `features ${r.featureMs.toFixed(2)} ms + model ${r.inferenceMs.toFixed(2)} ms`;
  $('features-view').textContent = featureView === 'mel' ? 'mel spectrogram' : `model input (${cfg.kind})`;
  if (featureView === 'mel' && r.audio) {
    const mel = recognizer.melSpectrogram(r.audio);
    drawFeatures($<HTMLCanvasElement>('features'), mel);
    $('features-caption').textContent = `of the last utterance: ${mel.frames} frames × ${mel.dims} bands · ${timing}`;
  } else {
    drawFeatures($<HTMLCanvasElement>('features'), r.features);
    $('features-caption').textContent = `of the last utterance: ${r.features.frames} frames × ${r.features.dims} · ${timing}`;
  }
}

function addHistoryRow(e: HistoryEntry): void {
  const tbody = $<HTMLTableElement>('history').tBodies[0];
  const tr = document.createElement('tr');
  const cells = [
    e.time.toLocaleTimeString(),
    e.digit === null ? `– (${e.candidate}?)` : String(e.digit),
    `${(e.confidence * 100).toFixed(0)}%`,
    `${(e.latencyMs ?? e.computeMs).toFixed(1)}`,
    e.source,
  ];
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.append(td);
  }
  tbody.prepend(tr);
  while (tbody.rows.length > 50) tbody.deleteRow(-1);
}

function renderStats(): void {
  const max = Math.max(1, ...stats.counts);
  $('counts').replaceChildren(
    ...stats.counts.map((n, d) => {
      const col = document.createElement('div');
      col.className = 'count';
      col.title = `${d}: ${n}`;
      const bar = document.createElement('div');
      bar.className = 'count-bar';
      bar.style.height = `${(n / max) * 100}%`;
      const label = document.createElement('span');
      label.textContent = `${d}`;
      const num = document.createElement('span');
      num.className = 'count-n';
      num.textContent = `${n}`;
      col.append(num, bar, label);
      return col;
    }),
  );
  $('counts').setAttribute('aria-label', `Count per digit: ${stats.counts.map((n, d) => `${d}: ${n}`).join(', ')}`);
  const lat = stats.recentLatencies(50);
  const compute = stats.history.slice(-50).map((e) => e.computeMs);
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0);
  $('stats-text').textContent =
    `${stats.history.length} results · ${stats.rejected} rejected · mean confidence ${stats.meanConfidence === null ? '–' : `${(stats.meanConfidence * 100).toFixed(0)}%`} · ` +
    `compute ${mean(compute).toFixed(2)} ms · latency ${mean(lat).toFixed(1)} ms`;
  drawLatencyChart($<HTMLCanvasElement>('latency-chart'), lat);
}

/** Model runs happen one at a time, in order (one ORT session); work that comes before the model waits for it. */
function exclusive<T>(work: (r: WebRecognizer) => Promise<T>): Promise<T> {
  const job = queue.then(async () => {
    await modelLoaded;
    if (!recognizer) throw new ModelError('no model is loaded');
    return work(recognizer);
  });
  queue = job.catch(() => undefined);
  return job;
}

/**
 * A batch file's clip recognized: cut to its speech first when the model was trained on clips cut so (as
 * `digits predict` does), with how long its sound is (`speechMs`, when cut) and how much the model hears at
 * once (`windowMs`). What goes wrong is thrown, for the file's row to say (not the page's status).
 */
function recognizeFile(samples: Float32Array, rate: number, source: string): Promise<Recognition & { speechMs?: number | null; windowMs: number }> {
  return exclusive(async (rec) => {
    // Cut to its speech as the model was trained (and a click too brief for a word rejected as such);
    // a file is not the voice at the microphone: heard as it is (shift 1), whatever the adapted shift.
    const [piece] = await rec.cutPieces<ClipInput>([{ samples, sampleRate: rate, shift: 1 }]);
    const [r] = await rec.recognizeBatch([piece], threshold());
    showResult(r, source, null);
    return { ...r, speechMs: piece.speechMs, windowMs: modelWindowMs(rec.info.featureConfig) };
  });
}

/**
 * The page's model as the stream decoder's classifier, with the threshold from the settings (else the
 * model's calibrated one). It declares the model's speech trim, so the decoder hands over a whole
 * segment already cut from the contour it has (`cutToSpeech: false`). The trim is read when a segment's
 * split starts; should another model with another trim be loaded before its pieces run, they are cut
 * again as that model says.
 */
let declaredTrim: SpeechTrim | null = null;
function classify(inputs: SegmentAudio[]): Promise<PieceRecognition[]> {
  return exclusive((rec) => {
    const swapped = JSON.stringify(rec.info.speechTrim ?? null) !== JSON.stringify(declaredTrim);
    return rec.recognizePieces(swapped ? inputs.map((i) => ({ ...i, cutToSpeech: undefined })) : inputs, threshold());
  });
}
const classifier = batchClassifier(classify, threshold, () => (declaredTrim = recognizer?.info.speechTrim ?? null));

// ---------------------------------------------------------------- speaker adaptation

/**
 * "Adapt to the speaker's voice" (Settings, or `adapt=1` in the URL), as `digits listen --adapt-voice`:
 * a VoiceAdapter learns from the digits heard at the microphone the voice shift the model is surest
 * under, and the page's recognizer, whichever model is loaded, hears the microphone at it (files are
 * heard as they are). "Adapt the model's normalization to the voice" (Settings, or `adaptnorm=1`), as
 * `digits listen --adapt-norm`: a NormAdapter adapts the loaded model's normalization to the same
 * digits, every 10 on the last 200, and refits its last layers on them once they name every digit,
 * in a Web Worker beside the decoding, while most speech heard lately was taken for digits (it drops
 * the adaptation when not). A kiosk serves one visitor after another, so both forget the voice after
 * `forget-voice` seconds (URL; default 120 in kiosk mode, never otherwise) without a digit, when
 * another model is loaded, and with the "Forget this voice" button.
 */
const pageRecognizer: ShiftableRecognizer = {
  get voiceShift() {
    return recognizer?.voiceShift ?? 1;
  },
  set voiceShift(factor: number) {
    if (recognizer) recognizer.voiceShift = factor;
  },
  predictShifted: (input, factors) => exclusive((rec) => rec.predictShifted(input, factors)),
};
/**
 * The loaded model, whichever it is, adapted beside the recognitions (in a Web Worker, the page only
 * swapping sessions; in line where no worker can run, whose runs onnxruntime-web interleaves with the
 * recognitions' safely) and reset one run at a time with them.
 */
const pageNormalization: NormAdaptable<ClipInput> = {
  adaptNormalization: async (clips, options) => {
    await modelLoaded;
    const rec = recognizer;
    if (!rec) throw new ModelError('no model is loaded');
    try {
      return await rec.adaptNormalization(clips, { ...options, offThread: true });
    } catch (err) {
      // Another model was loaded meanwhile (the old one disposed under the adaptation): it starts unadapted.
      if (rec !== recognizer) return { selfEnrolled: false, offThread: false, superseded: true };
      throw err;
    }
  },
  resetNormalization: () => exclusive((rec) => rec.resetNormalization()),
  // Not one run at a time: it ends the adaptation that holds up the rest ("Forget this voice").
  cancelAdaptation: async () => {
    await recognizer?.cancelAdaptation();
  },
  // The last 200 digits kept at the model's rate, not the microphone's (a sixth of the memory at 48 kHz); another model starts over.
  prepareClips: async (clips) => {
    await modelLoaded;
    return recognizer ? recognizer.prepareClips(clips) : [...clips];
  },
};
// As `digits listen` adapts by default: the last layers refitted too, on the last 200 digits.
const normAdapter = new NormAdapter(pageNormalization, { selfEnroll: true });
/** After how long without a digit a voice is forgotten (and a kiosk's visitor with it). */
const forgetVoiceMs = forgetAfterMs(params.get('forget-voice'), kiosk);
let voice: VoiceObserver | null = null;
/** What feeds `normAdapter` while the normalization adaptation is on. */
let norm: NormObserver | null = null;
/** The normalization adapter's last adaptation or drop, since it was last reset. */
let lastNormChange: NormAdaptEvent | null = null;
/** The normalization adapter's work (told segments, reset), one step at a time: a reset never lands inside an adaptation. */
let normWork: Promise<void> = Promise.resolve();
/** When an adapter last took a digit (page clock). */
let lastDigitAt = 0;

function setAdaptVoice(on: boolean): void {
  if (on && !voice) voice = new VoiceObserver(new VoiceAdapter(pageRecognizer), showVoice);
  else if (!on && voice) {
    voice.adapter.reset();
    voice = null;
  }
  showVoice();
}

function setAdaptNorm(on: boolean): void {
  if (on && !norm) {
    const observer = new NormObserver(
      normAdapter,
      (change) => {
        lastNormChange = change;
        showNorm();
      },
      (failed) => {
        reportError('normalization adaptation', failed.stopped ? new Error(`${failed.message} (${failed.failures} in a row: no more adapting until the voice is forgotten)`) : failed.error);
        showNorm();
      },
      (err) => reportError('normalization adaptation', err),
    );
    // Beside the decoding: digits spoken while the worker adapts are recognized with the model as it is.
    observer.background = true;
    norm = observer;
  } else if (!on && norm) {
    resetNorm();
    norm = null;
  }
  showNorm();
}

/** Whether the loaded model carries normalization targets to adapt to (taken as yes while none is loaded). */
function normAvailable(): boolean {
  return recognizer?.canAdaptNormalization ?? true;
}

/** Runs one step of the normalization adapter's work after those before it; a failure is reported, and listening goes on. */
function normStep(step: () => Promise<void>): Promise<void> {
  normWork = normWork
    .then(step)
    .catch((err) => {
      norm?.clear();
      reportError('normalization adaptation', err);
    })
    .then(showNorm);
  return normWork;
}

/** Forgets the normalization adapter's speaker: what it took, what it learnt, and the recognizer's adaptation. */
function resetNorm(): void {
  if (!norm) return;
  const observer = norm;
  lastNormChange = null;
  // An adaptation running beside the decoding is abandoned (its worker terminated): it must not land after the reset, nor hold it up.
  const abandoned = observer.cancel().catch(() => undefined);
  void normStep(async () => {
    await abandoned;
    await observer.settle();
    await normAdapter.reset();
  });
}

/**
 * Kiosk: the visitor is gone once nothing they said came for `forget-voice` seconds (default 120), nor a
 * tap or a key press, after a warning. What they said (the running string, the numbers closed by a
 * pause, the last result) is cleared, so the next visitor never sees it, and their voice is forgotten.
 */
const visitor = new VisitorClock(kiosk ? forgetVoiceMs : Infinity, {
  warn: (secondsLeft, first) => {
    const notice = $('clear-notice');
    notice.textContent = `Clearing in ${secondsLeft} s: say a digit, tap the screen or press a key to keep what you said`;
    notice.hidden = false;
    if (first) announce(`What you said will be cleared in ${secondsLeft} seconds. Say a digit, tap the screen or press a key to keep it.`);
  },
  unwarn: () => ($('clear-notice').hidden = true),
  gone: forgetVisitor,
});

function forgetVisitor(): void {
  clearString();
  clearResult();
  forgetVoice();
}

function forgetVoice(): void {
  voice?.clear();
  voice?.adapter.reset();
  resetNorm();
  showVoice();
  showNorm();
}

/** Whether either adapter has heard this voice's digits (what "Forget this voice" and the time limit forget). */
function voiceHeard(): boolean {
  return (voice?.adapter.utterances ?? 0) > 0 || (norm !== null && normAdapter.observed > 0);
}

/** What the adapters take from a decoder event (a digit's piece, and every speech segment's outcome for the normalization), for them to hear between segments. */
function takeForAdapters(d: StreamDecoder, type: keyof DecoderEvents, event: unknown): void {
  const normTaker = normAvailable() ? norm : null;
  if (!voice && !normTaker) return;
  // When the audio that decided it reached the page: decoding may lag behind, the visitor did not.
  const now = decodingBlock?.arrivedAt ?? performance.now();
  if (now - lastDigitAt > forgetVoiceMs && voiceHeard()) forgetVoice();
  const tookVoice = voice?.take(d, type, event) ?? false;
  const tookNorm = normTaker?.take(d, type, event) ?? false;
  if (tookVoice || tookNorm) lastDigitAt = now;
}

/** The adapters hear what they took so far (called between segments, so a digit never waits for them). */
async function flushAdapters(): Promise<void> {
  if (voice && voice.queued > 0) {
    try {
      await voice.flush();
    } catch (err) {
      // Adaptation is an extra: a failure is reported and listening goes on at the shift it had.
      voice.clear();
      reportError('voice adaptation', err);
    }
    showVoice();
  }
  if (norm && norm.queued > 0) {
    const observer = norm;
    // Not awaited: the decoding never waits on the adapter's queue (a reset there waits for an adaptation).
    void normStep(() => observer.flush());
  }
}

function showVoice(): void {
  const a = voice?.adapter;
  probe.voice = { adapting: !!a, factor: a?.factor ?? 1, utterances: a?.utterances ?? 0 };
  const chip = $('voice');
  chip.hidden = !a || a.factor === 1;
  if (a) chip.textContent = `voice ×${a.factor.toFixed(2)}`;
  $('voice-info').textContent = !a
    ? 'Off: every voice is heard as it is.'
    : a.factor === 1
      ? `Heard ${a.utterances} digit${a.utterances === 1 ? '' : 's'}; no shift yet (it can move after 8).`
      : `Hearing this voice at ×${a.factor.toFixed(2)} (pitch and formants), learnt from ${a.utterances} digits.`;
  $<HTMLButtonElement>('forget-voice').disabled = !voiceHeard();
}

function showNorm(): void {
  const a = norm ? normAdapter : null;
  const available = normAvailable();
  const adaptedOn = recognizer?.normalizationClips ?? 0;
  const dropped = lastNormChange?.dropped ?? false;
  const inWorker = adaptedOn > 0 && normAdapter.offThread;
  const selfEnrolled = adaptedOn > 0 && normAdapter.selfEnrolled;
  const stopped = norm?.stopped ?? false;
  probe.norm = { adapting: !!a && available && !stopped, available, observed: a?.observed ?? 0, adaptedOn, dropped, digitShare: a?.digitShare ?? 1, selfEnrolled, inWorker, stopped };
  const box = $<HTMLInputElement>('set-adapt-norm');
  box.checked = settings.adaptNorm;
  box.disabled = !available;
  const chip = $('norm');
  chip.hidden = adaptedOn === 0;
  chip.textContent = `norm · ${adaptedOn} digits`;
  $('norm-info').textContent = !available
    ? 'Not available: this model has no normalization targets to adapt to.'
    : !a
      ? "Off: the model's normalization is as trained."
      : stopped
        ? `Stopped: the last ${NormObserver.maxFailures} adaptations failed; ${adaptedOn > 0 ? `the one on ${adaptedOn} digits stays` : "the model's normalization is as trained"} until the voice is forgotten.`
      : adaptedOn > 0
        ? `Normalization adapted on this voice's last ${adaptedOn} digits${selfEnrolled ? ', its last layers refitted on them' : ''}${inWorker ? ' (in a background worker)' : ' (on the page: this browser could not start the adaptation worker, so the page may pause for a moment at each adaptation)'}.`
        : a.digitShare < a.minDigitShare
          ? `${dropped ? 'Adaptation dropped' : 'Not adapted'}: the speech heard lately was mostly not digits (${Math.round(a.digitShare * 100)}% digits); it adapts once digits are most of it.`
          : `Heard ${a.observed} digit${a.observed === 1 ? '' : 's'}; it adapts every ${a.every}.`;
  $<HTMLButtonElement>('forget-voice').disabled = !voiceHeard();
}

// ---------------------------------------------------------------- microphone -> stream decoder

/**
 * Listening and single-digit recording run the stream decoder of `digits listen`
 * (src/stream/decoder.ts): endpointer, early recognition of a digit followed by a short pause,
 * connected-digit split, rejection, strings closed by a longer pause. One decoder is one timeline
 * (one stream at one rate and VAD sensitivity); blocks are decoded in order, off the audio callback.
 */
let decoder: StreamDecoder | undefined;
let decoderKey = '';
let decoding: Promise<void> = Promise.resolve();
/** Samples handed over and not decoded yet (the model still loading, a slow moment). */
let backlog = 0;
let backlogDropped = false;
/** A kiosk whose model keeps failing to load must not queue audio without bound. */
const MAX_BACKLOG_SECONDS = 10;
/** The block being decoded: when it reached the page and where it ends in the decoder's stream. */
let decodingBlock: { arrivedAt: number; endMs: number } | undefined;
/** Microphone results shown so far, and the count when the current recording started. */
let micResults = 0;
let recordingFrom = 0;
const strings: string[] = [];

function decode(job: () => Promise<void>): void {
  decoding = decoding.then(job).catch((err) => {
    // The decoder's state is unknown after a failure: the next block starts a new timeline.
    decoder = undefined;
    decodingBlock = undefined;
    reportError('recognition failed', err);
  });
}

/**
 * Ends the current timeline, as when `digits listen`'s input ends: the speech heard so far is
 * recognized and the open string closed. A new stream (reconnect) never joins the old one's segment.
 */
async function closeDecoder(): Promise<void> {
  const d = decoder;
  decoder = undefined;
  decodingBlock = undefined;
  inSpeech = false;
  if (d) await d.finish();
  await flushAdapters();
}

/**
 * From the end of the digit's speech to the screen: the silence the decoder heard before deciding
 * (audio time), plus the wall time since the block holding the deciding sample reached the page
 * (decoding queue and compute). A digit decided at the end of listening waited for no more audio.
 */
function latencyOf(e: DigitEvent): number {
  const b = decodingBlock;
  if (!b) return e.latencyMs;
  return e.latencyMs - e.computeMs + (performance.now() - b.arrivedAt) + (b.endMs - e.decidedAtMs);
}

const onDecoderEvent: DecoderSink = (type, event, prediction) => {
  if (type === 'level') {
    const { speech, clipped } = event as DecoderEvents['level'];
    if (clipped >= CLIPPED_NOTE_SHARE) tooLoudUntil = performance.now() + 1000;
    if (recording && speech && !inSpeech) armRecordTimer();
    inSpeech = speech;
    $('vad-dot').dataset.on = String(inSpeech);
  } else if (type === 'string') {
    if (settings.mode !== 'continuous') return;
    // The number is finished: it joins the list under the running string, which starts fresh.
    const digits = (event as DecoderEvents['string']).digits;
    strings.unshift(digits);
    strings.length = Math.min(strings.length, 4);
    // The number once, digit by digit ("4 1", not "forty-one"), after its last digit was said.
    announce(`number ${digits.split('').join(' ')}`);
    $('strings').textContent = strings.map(shownDigits).join(' · ');
    digitString = '';
    $('digit-string').textContent = '';
    probe.strings.push(digits);
    if (probe.strings.length > 1000) probe.strings.splice(0, probe.strings.length - 1000);
  } else if (type === 'digit' || type === 'rejected') {
    // The splitter keeps the first view's fields (features, audio, timings) with the combined decision.
    const r = prediction as PieceRecognition;
    const top = topLabels(r.probabilities, r.labels ?? recognizer?.info.labels ?? [], 3);
    micResults++;
    if (type === 'digit') {
      const e = event as DecoderEvents['digit'];
      showResult({ ...r, digit: e.digit, isDigit: true, confidence: e.confidence, top }, 'microphone', latencyOf(e), [e.startMs, e.endMs]);
    } else {
      const e = event as DecoderEvents['rejected'];
      showResult({ ...r, digit: null, isDigit: false, candidate: e.candidate ?? r.candidate, confidence: e.confidence, top }, 'microphone', null, [e.startMs, e.endMs]);
    }
  }
};

function onBlock(block: Float32Array): void {
  const rate = mic.sampleRate;
  const arrivedAt = performance.now();
  probe.micOnMs ??= arrivedAt;
  probe.micSeconds += block.length / rate;
  waveform.push(block, rate);
  for (let i = 0; i < block.length; i++) {
    const a = Math.abs(block[i]);
    if (a > levelPeak) levelPeak = a;
  }
  if (!(listening || recording || enrolling)) return;
  if (backlog > rate * MAX_BACKLOG_SECONDS) {
    backlogDropped = true;
    return;
  }
  // Audio was dropped: what comes next is a new timeline.
  if (backlogDropped) decode(closeDecoder);
  backlogDropped = false;
  backlog += block.length;
  // Settings apply to the audio heard after they change, however far decoding lags behind.
  const sensitivity = settings.vadSensitivity;
  const key = `${rate}:${sensitivity}`;
  decode(async () => {
    backlog -= block.length;
    if (!decoder || decoderKey !== key) {
      // New settings or a new rate: the endpointer starts again from here.
      await closeDecoder();
      const next: StreamDecoder = new StreamDecoder(await streamCore(), classifier, { sensitivity }, rate, (type, event, prediction) => {
        takeForAdapters(next, type, event);
        takeCountedWord(next, type, event);
        onDecoderEvent(type, event, prediction);
      });
      decoder = next;
      decoderKey = key;
    }
    const d = decoder;
    decodingBlock = { arrivedAt, endMs: ((d.samplesFed + block.length) / rate) * 1000 };
    await d.feed(block);
    decodingBlock = undefined;
    if (!d.inSegment) await flushAdapters();
    // Single mode: done once the segment that gave a result has closed (the speaker stopped).
    if (recording && micResults > recordingFrom && !d.inSegment) finishRecording(false);
  });
}
mic.onBlock = onBlock;

mic.onState = (state, detail) => {
  probe.micState = state;
  document.body.dataset.mic = state;
  const text: Record<MicState, string> = {
    off: 'Microphone off',
    starting: 'Opening the microphone…',
    on: listening ? 'Listening' : recording ? 'Say one digit' : 'Microphone on',
    suspended: 'Tap or press a key to start audio',
    lost: `Microphone lost${detail ? `: ${detail}` : ''}${mic.autoRecover ? ' — reconnecting…' : ''}`,
    denied: 'Microphone permission refused: allow it in the browser, then reload',
    unavailable: `No microphone: ${detail ?? ''}`,
  };
  const problem = state === 'lost' || state === 'denied' || state === 'unavailable';
  // A kiosk trying again for a missing or refused microphone keeps saying what is wrong, not "Opening…" every 2 s.
  const retrying = state === 'starting' && mic.autoRecover && micProblem !== undefined;
  if (!retrying) micProblem = problem ? text[state] : undefined;
  // "Listening" only when it really works: with no model loaded nothing is recognized, and the error stays in view.
  if (state === 'on' && listening && noModel) setStatus(noModel, 'error');
  else if (!retrying) setStatus(problem ? withAddressNote(text[state]) : text[state], state === 'on' ? 'ok' : state === 'starting' || state === 'off' ? 'ok' : 'warn');
  $('overlay').hidden = state !== 'suspended';
  // Unless the microphone comes back by itself (kiosk), what used it ends: listening (the button says Start
  // again), a single digit (heard from what came), a count (taken as far as it got); and the microphone is
  // let go, so a device plugged in later does not open it behind a Start button.
  if (problem && !mic.autoRecover) {
    if (listening) {
      listening = false;
      showListening(false);
    }
    if (recording) finishRecording(true);
    if (enrolling) void finishEnrollment(text[state]);
    letMicGo();
  }
  // A new stream is a new timeline: the old one ends where its audio ended.
  if (state === 'lost' || state === 'starting') decode(closeDecoder);
  if (state === 'starting') probe.micSeconds = 0;
};

/**
 * Opens the microphone; true when it gives audio (or will after a tap). The stream core and the
 * model's warm-up at the microphone's rate are started, not awaited: blocks that arrive meanwhile
 * queue in the decoder's backlog, so speech that starts right away is not lost.
 */
async function startMic(): Promise<boolean> {
  if (mic.state !== 'on' && mic.state !== 'suspended') await mic.start(settings.micId);
  if (mic.state !== 'on' && mic.state !== 'suspended') return false;
  warmUp();
  return true;
}

/** Loads the stream core and runs the model once at the microphone's rate, in the recognizer's queue. */
function warmUp(): void {
  const rate = mic.sampleRate;
  void streamCore().catch((err) => reportError('stream core', err));
  // Queued behind the model's loading; a model that fails to load is reported where it is loaded.
  void exclusive((rec) => rec.prepareFor(rate)).catch(() => undefined);
}

async function toggleListening(on = !listening): Promise<void> {
  if (on) {
    // Wanted before the microphone opens: its first blocks arrive while start() is still settling
    // (the context resuming), and speech in them must reach the decoder, not only the meter.
    listening = true;
    const opened = await startMic();
    if (!listening) return; // stopped while the microphone was opening
    if (!opened) {
      listening = false;
      return;
    }
    showListening(true);
    mic.onState(mic.state);
  } else {
    listening = false;
    decode(closeDecoder);
    letMicGo();
    showListening(false);
  }
}

/**
 * The microphone closed once nothing on the page uses it (the kiosk always listens). A lost or missing
 * one is let go without turning its state to "off", so what went wrong stays said.
 */
function letMicGo(): void {
  if (kiosk || listening || recording || enrolling) return;
  if (micProblem) mic.release();
  else mic.stop();
}

/** The listen button as Start or Stop. */
function showListening(on: boolean): void {
  const button = $('listen');
  button.setAttribute('aria-pressed', String(on));
  setLabel(button, on ? '■ Stop listening' : '▶ Start listening');
}

/** A button's label, its keyboard hint (<kbd>) kept after it. */
/** The single-key shortcuts as they are: their <kbd> hints shown and `aria-keyshortcuts` said only while they work. */
function showShortcuts(): void {
  const on = settings.shortcuts && !kiosk;
  document.body.classList.toggle('no-shortcuts', !on);
  for (const el of document.querySelectorAll<HTMLElement>('[data-keyshortcuts], [aria-keyshortcuts]')) {
    el.dataset.keyshortcuts ??= el.getAttribute('aria-keyshortcuts') ?? '';
    if (on) el.setAttribute('aria-keyshortcuts', el.dataset.keyshortcuts);
    else el.removeAttribute('aria-keyshortcuts');
  }
}

function setLabel(button: HTMLElement, text: string): void {
  const kbd = button.querySelector('kbd');
  button.replaceChildren(`${text} `, ...(kbd ? [kbd] : []));
}

async function startRecording(): Promise<void> {
  if (recording) return finishRecording(true);
  const button = $<HTMLButtonElement>('record');
  button.disabled = true;
  // A fresh timeline that starts now; results count from here. Recording from before the
  // microphone opens, so a digit spoken at once is not cut (see toggleListening).
  decode(async () => {
    await closeDecoder();
    recordingFrom = micResults;
  });
  recording = true;
  const opened = await startMic();
  button.disabled = false;
  // Finished meanwhile (a key press, or a digit already heard in the first blocks).
  if (!recording) return;
  if (!opened) {
    recording = false;
    return;
  }
  button.classList.add('active');
  setLabel(button, '● Listening… (press to stop)');
  $('single-hint').textContent = 'Say one digit now.';
  mic.onState(mic.state);
  armRecordTimer();
}

/**
 * Single mode's time limit: nobody spoke (or never stopped) for `?single-seconds=` (default 5, 2-60),
 * and it closes and uses what it has. Counted again from each start of speech, so someone who needs
 * longer to begin or to say it is not cut off.
 */
const singleLimitMs = (isSingleSeconds(params.get('single-seconds') ?? '') ? Number(params.get('single-seconds')) : 5) * 1000;

function armRecordTimer(): void {
  clearTimeout(recordTimer);
  recordTimer = setTimeout(() => finishRecording(true), singleLimitMs);
}

/** Ends single-digit recording: on its own (`flush` false, a result came) or on a press or the time limit. */
function finishRecording(flush: boolean): void {
  if (!recording) return;
  clearTimeout(recordTimer);
  recording = false;
  // Whatever was heard is recognized (blocks already handed over come first).
  decode(async () => {
    await closeDecoder();
    // Not when the microphone failed: the status says what went wrong.
    if (flush && micResults === recordingFrom && !micProblem) $('single-hint').textContent = 'No speech heard. Press and try again.';
  });
  const button = $('record');
  button.classList.remove('active');
  setLabel(button, '● Press to say one digit');
  if (!flush) $('single-hint').textContent = 'Press, say one digit, and wait: recording stops by itself when you stop speaking.';
  letMicGo();
}

// ---------------------------------------------------------------- my voice (enrollment)

/**
 * "My voice": the speaker counts from zero to nine twice; the stream decoder cuts the words (as in
 * the other modes), each is labelled by its place in the count (CountTally, as `digits enroll
 * --counting` does), and `enrollSpeaker` of spoken-digits/web refits the loaded model's last layers
 * to them in the page. The personal model replaces the page's model until another is chosen, is kept
 * in this browser (IndexedDB) for the next visit, and can be downloaded (`digits listen --model`, or
 * this page's models folder, take it).
 */
const ENROLL_REPEATS = 2;

async function toggleEnrollment(): Promise<void> {
  if (enrolling) return finishEnrollment();
  const button = $<HTMLButtonElement>('enroll');
  // A fresh timeline that starts now (see startRecording).
  decode(closeDecoder);
  enrolling = { tally: new CountTally(ENROLL_REPEATS), clips: [] };
  probe.enrollment = { words: [], state: 'counting' };
  $('enroll-result').textContent = '';
  renderCount();
  const opened = await startMic();
  if (!enrolling) return;
  if (!opened) {
    enrolling = undefined;
    probe.enrollment.state = 'idle';
    return;
  }
  button.setAttribute('aria-pressed', 'true');
  setLabel(button, '■ Stop counting');
  mic.onState(mic.state);
}

/** A word of the count: a digit event, or a rejected one that was a word (not silence or a click: a word the model doubts is still a word). */
function takeCountedWord(d: StreamDecoder, type: keyof DecoderEvents, event: unknown): void {
  if (!enrolling || (type !== 'digit' && type !== 'rejected')) return;
  const e = event as DecoderEvents['digit'] | DecoderEvents['rejected'];
  if (type === 'rejected' && heardNoWord((e as DecoderEvents['rejected']).reason)) return;
  const piece = enrolling.tally.add(type === 'digit' ? (e as DecoderEvents['digit']).digit : null, e.confidence, e.startMs, e.endMs);
  if (!piece) return;
  // The decoder keeps the last seconds: the word's audio is taken now, at the stream's rate.
  enrolling.clips.push({ samples: d.audioBetween(e.startMs, e.endMs), sampleRate: d.sampleRate, digit: piece.digit });
  probe.enrollment.words.push([piece.digit, piece.heard]);
  renderCount();
  if (enrolling.tally.done) void finishEnrollment();
}

function renderCount(): void {
  const list = $('enroll-words');
  list.replaceChildren();
  const tally = enrolling?.tally;
  if (!tally) return;
  for (const p of tally.pieces) {
    const li = document.createElement('li');
    li.textContent = p.heard === p.digit ? `${p.digit}` : `${p.digit}: heard ${p.heard ?? '?'}`;
    li.dataset.agrees = String(p.heard === p.digit);
    list.append(li);
  }
  if (!tally.done) {
    const li = document.createElement('li');
    li.dataset.next = 'true';
    li.textContent = `say ${DIGIT_WORDS[tally.next]}`;
    list.append(li);
  }
}

/**
 * Stops counting (all words heard, or a press) and, when the count is whole, makes and loads the personal
 * model. `micProblem`: the microphone failed (no device, permission refused, lost), which is then what
 * the result says, not that too few words were heard; the status keeps the microphone's message.
 */
async function finishEnrollment(micProblem?: string): Promise<void> {
  const done = enrolling;
  if (!done) return;
  enrolling = undefined;
  const button = $<HTMLButtonElement>('enroll');
  button.setAttribute('aria-pressed', 'false');
  setLabel(button, '● Start: count from zero to nine, twice');
  decode(closeDecoder);
  letMicGo();
  const result = $('enroll-result');
  if (micProblem !== undefined && !done.tally.done) {
    probe.enrollment = { ...probe.enrollment, state: 'failed', error: micProblem };
    result.textContent = `No model made: ${micProblem} (${done.clips.length} of the count's words were heard)`;
    return;
  }
  try {
    done.tally.check();
    probe.enrollment.state = 'fitting';
    result.textContent = 'Fitting the model to your voice…';
    setStatus('Fitting the model to your voice…');
    const t0 = performance.now();
    const base = settings.model;
    const { enrollSpeaker } = await import('../enroll.js');
    const me = await enrollSpeaker(done.clips, { model: `./models/${encodeURIComponent(base)}`, speaker: 'this browser' });
    const mine: PersonalModel = { bytes: me.model, base, madeAt: Date.now() };
    await usePersonal(mine, t0);
    const notKept = await savePersonalModel(mine);
    personal = mine;
    settings.personal = true;
    saveSettings(settings);
    showPersonal();
    const pct = (x: { correct: number; clips: number }) => `${x.correct} of ${x.clips}`;
    result.textContent =
      `Your model is in use. The shared model got ${pct(me.fit.before)} of your words right, yours gets ${pct(me.fit.after)}` +
      (me.crossCheck ? `; on words held out of its fit, ${pct(me.crossCheck.after)} against ${pct(me.crossCheck.before)}` : '') +
      (me.voiceShift !== 1 ? `. It hears your voice at ×${me.voiceShift.toFixed(2)}.` : '.') +
      (notKept ? ` This browser would not keep it (${notKept}): download it to keep it.` : ' This browser keeps it for your next visit.');
    probe.enrollment = { ...probe.enrollment, state: 'done', voiceShift: me.voiceShift, fit: me.fit, crossCheck: me.crossCheck };
  } catch (err) {
    probe.enrollment = { ...probe.enrollment, state: 'failed', error: (err as Error)?.message ?? String(err) };
    result.textContent = `No model made: ${(err as Error)?.message ?? err}`;
    setStatus('Enrollment failed', 'warn');
  }
}

function personalName(p: PersonalModel): string {
  return `my voice (from ${p.base})`;
}

/** Makes the personal model `p` the page's model. */
async function usePersonal(p: PersonalModel, t0 = performance.now()): Promise<void> {
  const next = await WebRecognizer.load(p.bytes).catch((err: Error) => {
    throw new ModelError(`your personal model could not be loaded (${err.message}); the shared model is in use. Make a new one, or delete it`, { cause: err });
  });
  await useRecognizer(next, personalName(p), t0, true);
}

/** "Back to the shared model": the model chosen in Settings; the personal model stays kept. */
async function useSharedModel(): Promise<void> {
  $('enroll-result').textContent = '';
  probe.enrollment = { words: [], state: 'idle' };
  settings.personal = false;
  saveSettings(settings);
  await loadModel(settings.model).catch((err) => reportError('model', err));
}

/** "Use my model": the kept personal model again. */
async function useKeptModel(): Promise<void> {
  if (!personal) return;
  settings.personal = true;
  saveSettings(settings);
  await usePersonal(personal).catch((err) => reportError('model', err));
}

/** "Delete my model": forgotten by this browser (and, if in use, the shared model back). */
async function deleteKeptModel(): Promise<void> {
  await deletePersonalModel();
  personal = undefined;
  showPersonal();
  if (personalInUse) await useSharedModel();
}

/** The "My voice" panel's line and buttons for the kept model, and the probe. */
function showPersonal(): void {
  const p = personal;
  $('enroll-kept').textContent = p
    ? `Your model, made ${new Date(p.madeAt).toLocaleString()} from ${p.base}, is kept in this browser${personalInUse ? ' and in use' : ''}.`
    : '';
  const link = $<HTMLAnchorElement>('enroll-download');
  if (link.href) URL.revokeObjectURL(link.href);
  if (p) link.href = URL.createObjectURL(new Blob([new Uint8Array(p.bytes)], { type: 'application/octet-stream' }));
  else link.removeAttribute('href');
  link.hidden = !p;
  $('enroll-reset').hidden = !personalInUse;
  $('enroll-use').hidden = !p || personalInUse;
  $('enroll-delete').hidden = !p;
  probe.personalModel = p ? { stored: true, inUse: personalInUse, base: p.base } : { stored: false, inUse: false };
}

// ---------------------------------------------------------------- batch

const batch = { files: 0, done: 0, labelled: 0, correct: 0, errors: 0 };

async function runBatch(files: FileList | File[]): Promise<void> {
  const list = Array.from(files);
  const tbody = $<HTMLTableElement>('batch-table').tBodies[0];
  batch.files += list.length;
  for (const file of list) {
    const tr = document.createElement('tr');
    const cell = (text: string) => {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
      return td;
    };
    const expected = /^(\d)_/.exec(file.name)?.[1];
    try {
      if (file.size > 50 * 1024 * 1024) throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(0)} MB; batch takes files up to 50 MB`);
      // A compressed file decoded at the model's rate (at least 16 kHz): a third of the memory of 48 kHz.
      const { samples, sampleRate } = await decodeFile(await file.arrayBuffer(), file.name, Math.max(16000, recognizer?.info.featureConfig.sampleRate ?? 16000));
      const r = await recognizeFile(samples, sampleRate, file.name);
      cell(file.name);
      // No digit: why (the words `digits predict` uses), and the best digit when a word was heard.
      const why = r.rejectedBy ? REJECTED_WHY[r.rejectedBy] : 'no digit';
      cell(r.digit === null ? `– (${why}${heardNoWord(r.rejectedBy) ? '' : `: ${r.candidate}?`})` : String(r.digit)).className = 'big';
      cell(`${(r.confidence * 100).toFixed(0)}%`);
      cell(r.computeMs.toFixed(2));
      cell(expected ?? '');
      const ok = expected !== undefined ? String(r.digit) === expected : undefined;
      if (ok !== undefined) {
        batch.labelled++;
        if (ok) batch.correct++;
      }
      // The seconds said for what they are (sound that stands out, which may be noise, not only speech); more
      // of it than the model hears at once is likely several digits (as `digits predict` warns).
      const heard = heardNoWord(r.rejectedBy) ? '' : r.speechMs != null ? `${(r.speechMs / 1000).toFixed(2)} s of sound` : `${r.durationSec.toFixed(2)} s heard`;
      const severalDigits = r.speechMs != null && r.speechMs > r.windowMs && !heardNoWord(r.rejectedBy);
      const note = severalDigits
        ? `${heard}: more sound than one digit (the model hears ${(r.windowMs / 1000).toFixed(2)} s at once); if it holds several digits, Continuous mode reads them one by one`
        : ok === undefined
          ? heard
          : '';
      // Recorded too loud: said, as `digits predict` says it (its answer may be wrong).
      const clipped = clippedShare(samples);
      const mark = ok === undefined ? '' : ok ? '✓' : '✗';
      const notes = [note, clipped >= CLIPPED_NOTE_SHARE ? clippedNote(clipped) : ''].filter(Boolean).join(' · ');
      cell([mark, notes].filter(Boolean).join(' '));
      tr.dataset.severalDigits = String(severalDigits);
      tr.dataset.digit = r.digit === null ? '' : String(r.digit);
    } catch (err) {
      cell(file.name);
      cell('error');
      cell('');
      cell('');
      cell(expected ?? '');
      cell(err instanceof Error ? err.message : String(err)).className = 'error';
      tr.dataset.error = 'true';
      batch.errors++;
    }
    tbody.append(tr);
    batch.done++;
    const { done, files: total, labelled, correct, errors } = batch;
    $('batch-summary').textContent =
      `${done}/${total} files` +
      (labelled ? ` · ${correct}/${labelled} correct by file name (${((100 * correct) / labelled).toFixed(0)}%)` : '') +
      (errors ? ` · ${errors} error${errors > 1 ? 's' : ''}` : '');
  }
}

function setupBatch(): void {
  const input = $<HTMLInputElement>('files');
  input.addEventListener('change', () => {
    if (input.files?.length) void runBatch(input.files);
    input.value = '';
    // Focus stays on the (visually hidden) input, which the drop zone's outline shows: Enter or Space opens it again.
    input.focus();
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files.length) void runBatch(e.dataTransfer.files);
  });
}

// ---------------------------------------------------------------- modes, settings, keyboard

function setMode(mode: Mode, persist = true): void {
  // A kiosk serves one visitor after another: nobody's voice becomes its model.
  if (kiosk && mode === 'enroll') mode = 'continuous';
  if (mode !== 'continuous' && listening) void toggleListening(false);
  if (mode !== 'single' && recording) finishRecording(true);
  if (mode !== 'enroll' && enrolling) void finishEnrollment();
  settings.mode = mode;
  if (persist && !kiosk) saveSettings(settings);
  document.body.dataset.mode = mode;
  for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) {
    const on = tab.dataset.mode === mode;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  for (const m of MODES) $(`panel-${m}`).hidden = m !== mode;
}

async function loadModel(name: string): Promise<void> {
  setStatus(`Loading model ${name}…`);
  const t0 = performance.now();
  const next = await WebRecognizer.load(`./models/${encodeURIComponent(name)}`).catch((err: Error) => {
    const hint = err instanceof ModelError ? modelLoadHint(err) : '';
    throw hint ? new ModelError(`${err.message}; ${hint}`, { cause: err }) : err;
  });
  await useRecognizer(next, name, t0);
}

/** What to do about a model that did not load: the server out of reach (fetch's own failure), or a name it does not have. */
function modelLoadHint(err: ModelError): string {
  if (err.cause instanceof TypeError) return 'the server cannot be reached (stopped, or this device is offline)';
  if (/HTTP 404/.test(err.message)) return 'check the model name in Settings';
  return '';
}

/**
 * Settings' model choice: it becomes the stored choice only once it has loaded. When it fails, the
 * model in use stays, the list shows it again, and the error says so.
 */
async function chooseModel(name: string): Promise<void> {
  try {
    await loadModel(name);
  } catch (err) {
    const inUse = personalInUse && personal ? personalName(personal) : settings.model;
    const message = err instanceof Error ? err.message : String(err);
    reportError('model', recognizer ? new ModelError(`${message}; still using ${inUse}`, { cause: err }) : err);
    $<HTMLSelectElement>('set-model').value = personalInUse ? PERSONAL_OPTION : settings.model;
    return;
  }
  settings.model = name;
  settings.personal = false;
  saveSettings(settings);
}

/** Makes `next` the page's model (the old one released) and says so. */
async function useRecognizer(next: WebRecognizer, name: string, t0: number, isPersonal = false): Promise<void> {
  const old = recognizer;
  recognizer = next;
  noModel = undefined;
  personalInUse = isPersonal;
  showPersonal();
  await old?.dispose();
  // What the adapters learnt was how the old model heard the voice: the new one starts from no shift, unadapted.
  forgetVoice();
  const info = next.info;
  $('model-info').textContent =
    `${name}: ${info.modelType}, ${info.precision}, ${(next.bytes / 1024).toFixed(0)} KiB, ${info.featureConfig.kind} ` +
    `${info.featureConfig.sampleRate} Hz, labels ${info.labels.join(' ')}, calibrated threshold ${info.rejection.threshold.toFixed(2)}; loaded in ${(performance.now() - t0).toFixed(0)} ms`;
  if (micProblem && (listening || kiosk)) setStatus(micProblem, 'warn');
  else setStatus(readyText(name));
}

/** The status once a model is ready: "Listening" when the page listens (kiosk, `listen=1`), so the model's arrival does not hide it. */
function readyText(name: string): string {
  return `${listening && mic.state === 'on' ? 'Listening' : 'Ready'} · ${name}`;
}

async function listModels(): Promise<string[]> {
  try {
    const res = await fetch('./models/index.json', { cache: 'no-cache' });
    if (res.ok) return ((await res.json()) as { models: { name: string }[] }).models.map((m) => m.name);
  } catch {
    // offline (and not cached yet), or served by a plain static server without the listing
  }
  return [];
}

/** The Settings model list's entry for the kept personal model (no file name can be it). */
const PERSONAL_OPTION = 'personal:';

async function fillSettings(): Promise<void> {
  const modelSel = $<HTMLSelectElement>('set-model');
  const models = await listModels();
  if (!models.includes(settings.model)) models.unshift(settings.model);
  modelSel.replaceChildren(...models.map((m) => new Option(m, m, false, !personalInUse && m === settings.model)));
  if (personal) modelSel.append(new Option(personalName(personal), PERSONAL_OPTION, false, personalInUse));
  const micSel = $<HTMLSelectElement>('set-mic');
  const devices = await Microphone.devices();
  micSel.replaceChildren(
    new Option('System default', '', false, settings.micId === ''),
    ...devices.filter((d) => d.deviceId && d.deviceId !== 'default').map((d, i) => new Option(d.label || `Microphone ${i + 1}`, d.deviceId, false, d.deviceId === settings.micId)),
  );
  const auto = settings.threshold === null;
  $<HTMLInputElement>('set-threshold-auto').checked = auto;
  $<HTMLInputElement>('set-threshold').value = String(threshold());
  $<HTMLInputElement>('set-threshold').disabled = auto;
  $('set-threshold-value').textContent = threshold().toFixed(2);
  $<HTMLInputElement>('set-vad').value = String(settings.vadSensitivity);
  $('set-vad-value').textContent = settings.vadSensitivity.toFixed(2);
  $<HTMLInputElement>('set-adapt-voice').checked = settings.adaptVoice;
  $<HTMLInputElement>('set-shortcuts').checked = settings.shortcuts;
  showVoice();
  showNorm();
}

function setupSettings(): void {
  const dialog = $<HTMLDialogElement>('settings');
  $('open-settings').addEventListener('click', () => void fillSettings().then(() => dialog.showModal()));
  $('set-model').addEventListener('change', (e) => {
    const choice = (e.target as HTMLSelectElement).value;
    if (choice === PERSONAL_OPTION) return void useKeptModel();
    void chooseModel(choice);
  });
  $('set-mic').addEventListener('change', (e) => {
    settings.micId = (e.target as HTMLSelectElement).value;
    saveSettings(settings);
    if (mic.state === 'on') void mic.start(settings.micId);
  });
  $('set-threshold').addEventListener('input', (e) => {
    settings.threshold = Number((e.target as HTMLInputElement).value);
    $('set-threshold-value').textContent = settings.threshold.toFixed(2);
    saveSettings(settings);
  });
  $('set-threshold-auto').addEventListener('change', (e) => {
    const auto = (e.target as HTMLInputElement).checked;
    settings.threshold = auto ? null : Number($<HTMLInputElement>('set-threshold').value);
    $<HTMLInputElement>('set-threshold').disabled = auto;
    $<HTMLInputElement>('set-threshold').value = String(threshold());
    $('set-threshold-value').textContent = threshold().toFixed(2);
    saveSettings(settings);
  });
  $('set-vad').addEventListener('input', (e) => {
    settings.vadSensitivity = Number((e.target as HTMLInputElement).value);
    $('set-vad-value').textContent = settings.vadSensitivity.toFixed(2);
    // The decoder takes it from the next block on.
    saveSettings(settings);
  });
  $('set-shortcuts').addEventListener('change', (e) => {
    settings.shortcuts = (e.target as HTMLInputElement).checked;
    saveSettings(settings);
    showShortcuts();
  });
  $('set-adapt-voice').addEventListener('change', (e) => {
    settings.adaptVoice = (e.target as HTMLInputElement).checked;
    saveSettings(settings);
    setAdaptVoice(settings.adaptVoice);
  });
  $('set-adapt-norm').addEventListener('change', (e) => {
    settings.adaptNorm = (e.target as HTMLInputElement).checked;
    saveSettings(settings);
    setAdaptNorm(settings.adaptNorm);
  });
  $('forget-voice').addEventListener('click', forgetVoice);
}

function setupKeyboard(): void {
  const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role=tab]'));
  for (const tab of tabs) {
    tab.addEventListener('click', () => setMode(tab.dataset.mode as Mode));
    tab.addEventListener('keydown', (e) => {
      // WAI-ARIA tabs: arrows move between tabs.
      const i = tabs.indexOf(tab);
      const next =
        e.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length]
        : e.key === 'ArrowLeft' ? tabs[(i + tabs.length - 1) % tabs.length]
        : e.key === 'Home' ? tabs[0]
        : e.key === 'End' ? tabs[tabs.length - 1]
        : undefined;
      if (next) {
        e.preventDefault();
        next.focus();
        next.click();
      }
    });
  }
  document.addEventListener('keydown', (e) => {
    // Single-key shortcuts can be turned off (Settings; speech-input software types letters and digits), and a
    // kiosk takes none: a visitor's key press must not stop it listening, with no Start button to bring it back.
    if (e.ctrlKey || e.metaKey || e.altKey || kiosk || !settings.shortcuts) return;
    const target = e.target as HTMLElement;
    // A file input is not typed into: the mode keys work there (Space and Enter open it, as on any control).
    const typing = target.closest('input:not([type=file]), select, textarea, dialog');
    const onControl = target.closest('button, label, a');
    if (typing) return;
    if (e.key === ' ' && !onControl) {
      e.preventDefault();
      if (settings.mode === 'single') void startRecording();
      else if (settings.mode === 'continuous') void toggleListening();
      else if (settings.mode === 'enroll') void toggleEnrollment();
    } else if (e.key === '1' || e.key === '2' || e.key === '3' || e.key === '4') {
      setMode(MODES[Number(e.key) - 1]);
    } else if (e.key === 'c' || e.key === 'C') clearString();
    else if (e.key === 's' || e.key === 'S') $('open-settings').click();
  });
}

function clearString(): void {
  digitString = '';
  $('digit-string').textContent = '';
  strings.length = 0;
  $('strings').textContent = '';
}

let levelPeak = 0;
let shownDb = NaN;
/** Until when (performance.now()) the meter says the input is too loud: a second after the decoder last heard it clip. */
let tooLoudUntil = 0;
let shownLoud = false;
let lastFrame = 0;
let lastWave = 0;
/** Reduced motion asked for: the waveform moves once a second instead of 30 times (the level meter stays live). */
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

/**
 * Screen updates at ~30 fps, decoupled from the 50 blocks/s of audio: a small kiosk CPU should spend
 * its time on recognition, not on re-laying out the meter for every block.
 */
function frame(now: number): void {
  requestAnimationFrame(frame);
  if (now - lastFrame < 32) return;
  lastFrame = now;
  if (!reducedMotion.matches || now - lastWave >= 1000) {
    lastWave = now;
    waveform.draw(inSpeech);
  }
  const db = levelPeak > 0 ? Math.max(-80, Math.min(0, Math.round(20 * Math.log10(levelPeak)))) : -80;
  levelPeak = 0;
  const loud = now < tooLoudUntil;
  if (db === shownDb && loud === shownLoud) return;
  shownDb = db;
  shownLoud = loud;
  $('level-fill').style.transform = `scaleX(${(db + 80) / 80})`;
  $('level').setAttribute('aria-valuenow', String(db));
  $('level').setAttribute('aria-valuetext', `${db > -80 ? `${db} dB` : 'silent'}${loud ? ', too loud' : ''}`);
  $('level').dataset.clipping = String(loud);
  $('level-db').textContent = `${db > -80 ? `${db} dB` : '–∞ dB'}${loud ? ' · too loud' : ''}`;
}

/**
 * Offline: registered once the app works, so the worker's precache is served from the HTTP cache
 * the first load just filled (no second download). The model was fetched before the worker
 * controlled the page, so it is put into the worker's model cache here.
 */
function enableOffline(): void {
  if (!('serviceWorker' in navigator) || !import.meta.env.PROD || params.get('sw') === '0') return;
  if (kiosk && navigator.serviceWorker.controller) {
    // A kiosk runs for days: when a new build's worker takes over, reload into it between utterances.
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      const reload = () => (inSpeech ? setTimeout(reload, 1000) : location.reload());
      reload();
    });
  }
  navigator.serviceWorker
    .register('./sw.js')
    .then((reg) => {
      if (kiosk) setInterval(() => void reg.update().catch(() => undefined), 60 * 60 * 1000);
      return reg;
    })
    .then(() => caches.open('sd-models'))
    .then((c) => c.addAll([`./models/${encodeURIComponent(settings.model)}`, './models/index.json']))
    .catch((err) => console.warn('offline cache unavailable', err));
}

/** Kiosk screens stay on (the lock is dropped whenever the page is hidden, so take it again). */
function keepScreenOn(): void {
  const lock = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<unknown> } }).wakeLock;
  if (!lock) return;
  const take = () => {
    if (document.visibilityState === 'visible') lock.request('screen').catch(() => undefined);
  };
  take();
  document.addEventListener('visibilitychange', take);
}

async function boot(): Promise<void> {
  document.body.classList.toggle('kiosk', kiosk);
  if (kiosk) keepScreenOn();
  setupKeyboard();
  setupSettings();
  setupBatch();
  // A mode from the URL is for this visit only.
  setMode(settings.mode, false);
  $('record').addEventListener('click', () => void startRecording());
  $('listen').addEventListener('click', () => void toggleListening());
  $('enroll').addEventListener('click', () => void toggleEnrollment());
  $('enroll-reset').addEventListener('click', () => void useSharedModel());
  $('enroll-use').addEventListener('click', () => void useKeptModel());
  $('enroll-delete').addEventListener('click', () => void deleteKeptModel());
  $('clear-string').addEventListener('click', clearString);
  $('features-view').addEventListener('click', () => {
    featureView = featureView === 'mel' ? 'model' : 'mel';
    drawLastFeatures();
  });
  $('overlay-button').addEventListener('click', () => void mic.resume());
  // Any gesture resumes audio the autoplay policy held back and keeps a kiosk visitor's digits; a tap
  // (not a key: Tab must not change the view under a keyboard user) enters full screen in a kiosk.
  const gesture = (e: Event) => {
    void mic.resume();
    visitor.active();
    if (kiosk && e.type === 'pointerdown' && !document.fullscreenElement) document.documentElement.requestFullscreen?.().catch(() => undefined);
  };
  document.addEventListener('pointerdown', gesture);
  document.addEventListener('keydown', gesture);
  requestAnimationFrame(frame);
  renderStats();
  showShortcuts();
  setAdaptVoice(settings.adaptVoice);
  setAdaptNorm(settings.adaptNorm);

  // Listening starts while the model loads: speech that comes early is buffered, endpointed, and
  // recognized as soon as the model is ready.
  const listenNow = settings.mode === 'continuous' && (kiosk || params.get('listen') === '1');
  const listeningStarted = listenNow ? toggleListening(true).catch((err) => reportError('microphone', err)) : Promise.resolve();

  // The stored choice if the server still has it, else the server's first (int8 default first).
  const available = await listModels();
  // A model the URL named that the server does not have: said, not swapped for the default in silence.
  const missing = available.length && !available.includes(settings.model) && urlModel === settings.model ? settings.model : undefined;
  if (available.length && !available.includes(settings.model)) settings.model = available[0];
  // The personal model this browser keeps, when it was in use last time.
  if (!kiosk) personal = await loadPersonalModel();
  showPersonal();
  if (!kiosk && personal && settings.personal) {
    await usePersonal(personal).catch((err) => reportError('model', err));
  }
  for (let attempt = 1; !personalInUse; attempt++) {
    try {
      try {
        await loadModel(settings.model);
      } catch (err) {
        // A plain static host has no listing: fall back to the shipped fp32 default.
        if (available.length || settings.model === 'default.onnx') throw err;
        settings.model = 'default.onnx';
        await loadModel(settings.model);
      }
      break;
    } catch (err) {
      reportError('model', err);
      // A kiosk has nobody to press reload: keep trying (server restarting, network back). Elsewhere the
      // work waiting for the model goes on, to fail in its own place (a batch file's row), not wait for ever.
      if (!kiosk) {
        modelReady();
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(30_000, 2000 * attempt)));
      const again = await listModels();
      if (again.length && !again.includes(settings.model)) settings.model = again[0];
    }
  }
  addressNote = [
    ...(missing ? [`${missing}, named in the address, is not on this server`] : []),
    ...(ignoredParams.length ? [`not understood in the address, so ignored: ${ignoredParams.join(', ')}`] : []),
  ].join('; ');
  if (addressNote) {
    const inUse = personalInUse && personal ? personalName(personal) : settings.model;
    setStatus(withAddressNote(micProblem ?? readyText(inUse)), 'warn');
  }
  probe.modelLoadedMs = performance.now();
  probe.ready = true;
  modelReady();
  enableOffline();
  document.body.dataset.ready = 'true';
  await listeningStarted;
}

boot().catch((err) => reportError('start-up', err));
