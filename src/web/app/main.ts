import './style.css';
import { Recognizer, type Recognition } from './engine.js';
import { Microphone, type MicState } from './capture.js';
import { AudioRing } from './audio-ring.js';
import { decodeFile } from './decode.js';
import { loadWasmStreamCore } from '../../stream/wasm-core.js';
import { splitSegment, type SegmentClassifier } from '../../stream/segmenter.js';
import { cutToSpeech } from '../../stream/speech-cut.js';
import type { StreamCore, VadEvent, VadHandle } from '../../stream/core.js';
import { topLabels } from '../../model/decision.js';
import { loadSettings, saveSettings, Stats, type HistoryEntry, type Mode, type Settings } from './store.js';
import { WaveformView, drawFeatures, drawLatencyChart } from './views.js';

/** What the browser tests read (and what a kiosk operator can inspect from the console). */
interface Probe {
  ready: boolean;
  modelLoadedMs: number | null;
  firstResultMs: number | null;
  /** When the microphone first delivered audio (ms after navigation). */
  micOnMs: number | null;
  results: { digit: number | null; candidate: number; confidence: number; computeMs: number; latencyMs: number | null; source: string }[];
  errors: string[];
  micState: MicState;
}
const probe: Probe = { ready: false, modelLoadedMs: null, firstResultMs: null, micOnMs: null, results: [], errors: [], micState: 'off' };
(window as unknown as { __digits: Probe }).__digits = probe;
(window as unknown as { __digitsTest: unknown }).__digitsTest = { loseMicrophone: () => mic.simulateDeviceLoss() };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const kiosk = params.get('kiosk') === '1';
const settings: Settings = loadSettings();
const urlMode = params.get('mode');
if (urlMode === 'single' || urlMode === 'continuous' || urlMode === 'batch') settings.mode = urlMode;
if (kiosk) settings.mode = 'continuous';
if (params.get('model') && /^[\w.-]+\.onnx$/.test(params.get('model')!)) settings.model = params.get('model')!;

const stats = new Stats();
const mic = new Microphone();
mic.autoRecover = kiosk;
const waveform = new WaveformView($<HTMLCanvasElement>('waveform'));
// 12 s covers the VAD's 4 s maximum segment plus its look-behind with room to spare.
let ring = new AudioRing(48000 * 12);
let recognizer: Recognizer | undefined;
// Work that arrives before the model (a file dropped while the page loads) waits for it.
let modelReady!: () => void;
const modelLoaded = new Promise<void>((resolve) => (modelReady = resolve));
let endpointer: VadHandle | undefined;
let endpointerKey = '';
let digitString = '';
let listening = false; // continuous mode wants audio
let recording = false; // single mode is taking one digit
let recordTimer: ReturnType<typeof setTimeout> | undefined;
let inSpeech = false;
let queue: Promise<unknown> = Promise.resolve();

function setStatus(text: string, kind: 'ok' | 'warn' | 'error' = 'ok'): void {
  const el = $('status');
  el.textContent = text;
  el.dataset.kind = kind;
}

function reportError(where: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  probe.errors.push(`${where}: ${message}`);
  setStatus(`${where}: ${message}`, 'error');
  console.error(where, err);
}

function threshold(): number {
  return settings.threshold ?? recognizer?.info.rejection.threshold ?? 0.5;
}

// ---------------------------------------------------------------- results

function showResult(r: Recognition, source: string, latencyMs: number | null): void {
  const digitEl = $('digit');
  digitEl.textContent = r.digit === null ? '?' : String(r.digit);
  digitEl.dataset.rejected = r.digit === null ? 'true' : 'false';
  digitEl.setAttribute('aria-label', r.digit === null ? 'not a digit' : `digit ${r.digit}`);
  $('conf-fill').style.width = `${Math.round(r.confidence * 100)}%`;
  $('confidence').textContent =
    r.digit === null ? `not a digit (best ${r.candidate}, ${(r.confidence * 100).toFixed(0)}%)` : `confidence ${(r.confidence * 100).toFixed(0)}%`;
  // The running string is what was said; files go to the batch table only.
  if (r.digit !== null && source === 'microphone') {
    digitString += String(r.digit);
    $('digit-string').textContent = digitString;
  }
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
  probe.results.push({ digit: r.digit, candidate: r.candidate, confidence: r.confidence, computeMs: r.computeMs, latencyMs, source });
  // A kiosk runs for days: keep the probe bounded like the history.
  if (probe.results.length > 1000) probe.results.splice(0, probe.results.length - 1000);
  if (probe.firstResultMs === null && source !== 'warm-up') probe.firstResultMs = performance.now();
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
    `${stats.history.length} results · ${stats.rejected} rejected · mean confidence ${(stats.meanConfidence * 100).toFixed(0)}% · ` +
    `compute ${mean(compute).toFixed(2)} ms · latency ${mean(lat).toFixed(1)} ms`;
  drawLatencyChart($<HTMLCanvasElement>('latency-chart'), lat);
}

/** Recognitions run one at a time, in order (one ORT session). */
function serialize<T>(work: (r: Recognizer) => Promise<T>): Promise<T | undefined> {
  const job = queue.then(async () => {
    await modelLoaded;
    if (!recognizer) return undefined;
    try {
      return await work(recognizer);
    } catch (err) {
      reportError('recognition failed', err);
      return undefined;
    }
  });
  queue = job;
  return job;
}

/** A whole recording or file: cut to its speech first when the model was trained on clips cut so (as `digits predict` does). */
function enqueue(samples: Float32Array, rate: number, source: string, detectedAt: number | null): Promise<Recognition | undefined> {
  return serialize(async (rec) => {
    const trim = rec.info.speechTrim;
    if (trim) {
      streamCore ??= loadWasmStreamCore();
      samples = cutToSpeech(await streamCore, samples, rate, trim);
    }
    const r = await rec.recognize(samples, rate, threshold());
    showResult(r, source, detectedAt === null ? null : performance.now() - detectedAt);
    return r;
  });
}

// ---------------------------------------------------------------- microphone + VAD

// The VAD's defaults (native/dsp/vad.h): the segment carries this much silence around the speech.
const PRE_ROLL_MS = 120;
const POST_ROLL_MS = 60;
const HANGOVER_MS = 120;
let streamCore: Promise<StreamCore> | undefined;
let vadOffset = 0; // ring index of the endpointer's sample 0
let endpointerJob: Promise<VadHandle> | undefined;

function endpointerWanted(): string {
  return `${mic.sampleRate}:${settings.vadSensitivity}`;
}

/** (Re)creates the endpointer for the current rate/sensitivity; its sample 0 is the ring's next sample. */
function ensureEndpointer(): Promise<VadHandle> {
  const key = endpointerWanted();
  if (endpointer && endpointerKey === key) return Promise.resolve(endpointer);
  streamCore ??= loadWasmStreamCore();
  endpointerJob ??= streamCore
    .then((core) => {
      // Same endpointing as `digits listen` (src/stream/listener.ts defaults).
      const vad = core.createVad({ sampleRate: mic.sampleRate, sensitivity: settings.vadSensitivity, hangoverMs: HANGOVER_MS, maxSpeechMs: 4000 });
      endpointer = vad;
      endpointerKey = key;
      if (ring.capacity !== mic.sampleRate * 12) ring = new AudioRing(mic.sampleRate * 12);
      vadOffset = ring.total;
      return vad;
    })
    .finally(() => (endpointerJob = undefined));
  return endpointerJob;
}

function restartEndpointer(): void {
  if (!endpointer) return;
  endpointer.reset();
  vadOffset = ring.total;
}

/**
 * A VAD segment -> the digits it holds: the stream module's splitter (shared with `digits listen`)
 * cuts at energy valleys where the pieces classify better than the whole.
 */
function handleSegment(ev: VadEvent, detectedAt: number): void {
  const rate = mic.sampleRate;
  const audio = ring.slice(ev.startSample + vadOffset, ev.endSample + vadOffset);
  if (audio.length < rate * 0.08 || !streamCore) return;
  void serialize(async (rec) => {
    const core = await streamCore!;
    // With labels and the threshold, the splitter checks each piece on a second view exactly as `digits listen` does.
    const labels = rec.info.labels;
    const classifier: SegmentClassifier = {
      threshold: threshold(),
      predict: async ({ samples, sampleRate }) => ({ ...(await rec.recognize(samples, sampleRate, threshold())), labels }),
      predictBatch: async (inputs) => (await rec.recognizeBatch(inputs, threshold())).map((r) => ({ ...r, labels })),
    };
    const pieces = await splitSegment(audio, rate, core, classifier, {}, PRE_ROLL_MS + POST_ROLL_MS);
    for (const p of pieces) {
      const r = p.prediction as Recognition;
      showResult({ ...r, top: topLabels(r.probabilities, labels, 3) }, 'microphone', performance.now() - detectedAt);
    }
  });
}

function onBlock(block: Float32Array): void {
  const rate = mic.sampleRate;
  probe.micOnMs ??= performance.now();
  waveform.push(block, rate);
  for (let i = 0; i < block.length; i++) {
    const a = Math.abs(block[i]);
    if (a > levelPeak) levelPeak = a;
  }
  if (!(listening || recording)) return;
  if (!endpointer || endpointerKey !== endpointerWanted()) {
    // New stream (reconnect) or new settings: blocks are skipped for the moment it takes to rebuild.
    void ensureEndpointer().catch((err) => reportError('VAD', err));
    return;
  }
  ring.push(block);
  const events = endpointer.process(block);
  inSpeech = endpointer.state().inSpeech;
  $('vad-dot').dataset.on = String(inSpeech);
  for (const ev of events) {
    if (ev.type !== 'end') continue;
    handleSegment(ev, performance.now());
    if (recording) finishRecording(false);
  }
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
  setStatus(text[state], state === 'on' ? 'ok' : state === 'starting' || state === 'off' ? 'ok' : 'warn');
  $('overlay').hidden = state !== 'suspended';
  if (state === 'lost' || state === 'starting') {
    // A new stream is a new timeline: an open segment would straddle the gap.
    restartEndpointer();
  }
};

async function startMic(): Promise<boolean> {
  if (mic.state !== 'on' && mic.state !== 'suspended') await mic.start(settings.micId);
  if (mic.state !== 'on' && mic.state !== 'suspended') return false;
  await Promise.all([ensureEndpointer(), recognizer?.prepareFor(mic.sampleRate)]);
  return true;
}

async function toggleListening(on = !listening): Promise<void> {
  const button = $('listen');
  if (on) {
    if (!(await startMic())) return;
    listening = true;
    button.setAttribute('aria-pressed', 'true');
    button.textContent = '■ Stop listening';
    mic.onState(mic.state);
  } else {
    listening = false;
    for (const ev of endpointer?.flush() ?? []) if (ev.type === 'end') handleSegment(ev, performance.now());
    if (!kiosk) mic.stop();
    button.setAttribute('aria-pressed', 'false');
    button.textContent = '▶ Start listening';
  }
}

async function startRecording(): Promise<void> {
  if (recording) return finishRecording(true);
  const button = $<HTMLButtonElement>('record');
  button.disabled = true;
  if (!(await startMic())) {
    button.disabled = false;
    return;
  }
  restartEndpointer();
  recording = true;
  button.disabled = false;
  button.classList.add('active');
  button.textContent = '● Listening… (press to stop)';
  $('single-hint').textContent = 'Say one digit now.';
  mic.onState(mic.state);
  // Nobody spoke (or never stopped): close after 5 s and use what we have.
  recordTimer = setTimeout(() => finishRecording(true), 5000);
}

function finishRecording(flush: boolean): void {
  if (!recording) return;
  clearTimeout(recordTimer);
  if (flush) {
    const events = endpointer?.flush() ?? [];
    const end = events.find((e) => e.type === 'end');
    if (end) handleSegment(end, performance.now());
    else $('single-hint').textContent = 'No speech heard. Press and try again.';
  }
  recording = false;
  const button = $('record');
  button.classList.remove('active');
  button.textContent = '● Press to say one digit';
  if (!flush) $('single-hint').textContent = 'Press, say one digit, and wait: recording stops by itself when you stop speaking.';
  if (!kiosk && !listening) mic.stop();
}

// ---------------------------------------------------------------- batch

const batch = { files: 0, done: 0, labelled: 0, correct: 0 };

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
      const { samples, sampleRate } = await decodeFile(await file.arrayBuffer(), file.name);
      const r = await enqueue(samples, sampleRate, file.name, null);
      if (!r) throw new Error('recognition failed');
      cell(file.name);
      cell(r.digit === null ? `– (${r.candidate}?)` : String(r.digit)).className = 'big';
      cell(`${(r.confidence * 100).toFixed(0)}%`);
      cell(r.computeMs.toFixed(2));
      cell(expected ?? '');
      const ok = expected !== undefined ? String(r.digit) === expected : undefined;
      if (ok !== undefined) {
        batch.labelled++;
        if (ok) batch.correct++;
      }
      cell(ok === undefined ? `${r.durationSec.toFixed(2)} s` : ok ? '✓' : '✗');
      tr.dataset.digit = r.digit === null ? '' : String(r.digit);
    } catch (err) {
      cell(file.name);
      cell('error');
      cell('');
      cell('');
      cell(expected ?? '');
      cell(err instanceof Error ? err.message : String(err)).className = 'error';
      tr.dataset.error = 'true';
    }
    tbody.append(tr);
    batch.done++;
    const { done, files: total, labelled, correct } = batch;
    $('batch-summary').textContent =
      `${done}/${total} files` + (labelled ? ` · ${correct}/${labelled} correct by file name (${((100 * correct) / labelled).toFixed(0)}%)` : '');
  }
}

function setupBatch(): void {
  const input = $<HTMLInputElement>('files');
  input.addEventListener('change', () => {
    if (input.files?.length) void runBatch(input.files);
    input.value = '';
    // Back to the visible drop zone, so the keyboard shortcuts work again.
    $('drop').focus();
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
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
}

// ---------------------------------------------------------------- modes, settings, keyboard

function setMode(mode: Mode, persist = true): void {
  if (mode !== 'continuous' && listening) void toggleListening(false);
  if (mode !== 'single' && recording) finishRecording(true);
  settings.mode = mode;
  if (persist && !kiosk) saveSettings(settings);
  document.body.dataset.mode = mode;
  for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) {
    const on = tab.dataset.mode === mode;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  for (const m of ['single', 'continuous', 'batch'] as const) $(`panel-${m}`).hidden = m !== mode;
}

async function loadModel(name: string): Promise<void> {
  setStatus(`Loading model ${name}…`);
  const t0 = performance.now();
  const next = await Recognizer.load(`./models/${encodeURIComponent(name)}`);
  const old = recognizer;
  recognizer = next;
  await old?.dispose();
  const info = next.info;
  $('model-info').textContent =
    `${name}: ${info.modelType}, ${info.precision}, ${(next.bytes / 1024).toFixed(0)} KiB, ${info.featureConfig.kind} ` +
    `${info.featureConfig.sampleRate} Hz, labels ${info.labels.join(' ')}, calibrated threshold ${info.rejection.threshold.toFixed(2)}; loaded in ${(performance.now() - t0).toFixed(0)} ms`;
  setStatus(`Ready · ${name}`);
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

async function fillSettings(): Promise<void> {
  const modelSel = $<HTMLSelectElement>('set-model');
  const models = await listModels();
  if (!models.includes(settings.model)) models.unshift(settings.model);
  modelSel.replaceChildren(...models.map((m) => new Option(m, m, false, m === settings.model)));
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
}

function setupSettings(): void {
  const dialog = $<HTMLDialogElement>('settings');
  $('open-settings').addEventListener('click', () => void fillSettings().then(() => dialog.showModal()));
  $('set-model').addEventListener('change', (e) => {
    settings.model = (e.target as HTMLSelectElement).value;
    saveSettings(settings);
    loadModel(settings.model).catch((err) => reportError('model', err));
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
    saveSettings(settings);
    if (listening || recording) void ensureEndpointer();
  });
}

function setupKeyboard(): void {
  const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role=tab]'));
  for (const tab of tabs) {
    tab.addEventListener('click', () => setMode(tab.dataset.mode as Mode));
    tab.addEventListener('keydown', (e) => {
      // WAI-ARIA tabs: arrows move between tabs.
      const i = tabs.indexOf(tab);
      const next = e.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length] : e.key === 'ArrowLeft' ? tabs[(i + tabs.length - 1) % tabs.length] : undefined;
      if (next) {
        e.preventDefault();
        next.focus();
        next.click();
      }
    });
  }
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target as HTMLElement;
    const typing = target.closest('input, select, textarea, dialog');
    const onControl = target.closest('button, label, a');
    if (typing) return;
    if (e.key === ' ' && !onControl) {
      e.preventDefault();
      if (settings.mode === 'single') void startRecording();
      else if (settings.mode === 'continuous') void toggleListening();
    } else if (!kiosk && (e.key === '1' || e.key === '2' || e.key === '3')) {
      setMode((['single', 'continuous', 'batch'] as const)[Number(e.key) - 1]);
    } else if (e.key === 'c' || e.key === 'C') clearString();
    else if (!kiosk && (e.key === 's' || e.key === 'S')) $('open-settings').click();
  });
}

function clearString(): void {
  digitString = '';
  $('digit-string').textContent = '';
}

let levelPeak = 0;
let shownDb = NaN;
let lastFrame = 0;

/**
 * Screen updates at ~30 fps, decoupled from the 50 blocks/s of audio: a small kiosk CPU should spend
 * its time on recognition, not on re-laying out the meter for every block.
 */
function frame(now: number): void {
  requestAnimationFrame(frame);
  if (now - lastFrame < 32) return;
  lastFrame = now;
  waveform.draw(inSpeech);
  const db = levelPeak > 0 ? Math.max(-80, Math.min(0, Math.round(20 * Math.log10(levelPeak)))) : -80;
  levelPeak = 0;
  if (db === shownDb) return;
  shownDb = db;
  $('level-fill').style.transform = `scaleX(${(db + 80) / 80})`;
  $('level').setAttribute('aria-valuenow', String(db));
  $('level-db').textContent = db > -80 ? `${db} dB` : '–∞ dB';
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
  $('clear-string').addEventListener('click', clearString);
  $('features-view').addEventListener('click', () => {
    featureView = featureView === 'mel' ? 'model' : 'mel';
    drawLastFeatures();
  });
  $('overlay-button').addEventListener('click', () => void mic.resume());
  // Any gesture resumes audio the autoplay policy held back, and (kiosk) enters full screen.
  const gesture = () => {
    void mic.resume();
    if (kiosk && !document.fullscreenElement) document.documentElement.requestFullscreen?.().catch(() => undefined);
  };
  document.addEventListener('pointerdown', gesture);
  document.addEventListener('keydown', gesture);
  requestAnimationFrame(frame);
  renderStats();


  // Listening starts while the model loads: speech that comes early is buffered, endpointed, and
  // recognized as soon as the model is ready.
  const listenNow = settings.mode === 'continuous' && (kiosk || params.get('listen') === '1');
  const listeningStarted = listenNow ? toggleListening(true).catch((err) => reportError('microphone', err)) : Promise.resolve();

  // The stored choice if the server still has it, else the server's first (int8 default first).
  const available = await listModels();
  if (available.length && !available.includes(settings.model)) settings.model = available[0];
  for (let attempt = 1; ; attempt++) {
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
      // A kiosk has nobody to press reload: keep trying (server restarting, network back).
      if (!kiosk) return;
      await new Promise((r) => setTimeout(r, Math.min(30_000, 2000 * attempt)));
      const again = await listModels();
      if (again.length && !again.includes(settings.model)) settings.model = again[0];
    }
  }
  probe.modelLoadedMs = performance.now();
  probe.ready = true;
  modelReady();
  enableOffline();
  document.body.dataset.ready = 'true';
  await listeningStarted;
  if (mic.state === 'on') await recognizer?.prepareFor(mic.sampleRate);
}

boot().catch((err) => reportError('start-up', err));
