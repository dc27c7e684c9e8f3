/** Settings (kept in localStorage) and the session's history and statistics. */
export type Mode = 'single' | 'continuous' | 'batch' | 'enroll';
/** The modes in their tabs' order (keys 1-4). */
export const MODES: readonly Mode[] = ['single', 'continuous', 'batch', 'enroll'];
export const isMode = (x: unknown): x is Mode => MODES.includes(x as Mode);
/** A model file the page asks its server for: one file name, no path. */
export const isModelName = (x: unknown): x is string => typeof x === 'string' && /^[\w.-]+\.onnx$/.test(x);

export interface Settings {
  model: string;
  micId: string;
  /** null: use the model's calibrated rejection threshold. */
  threshold: number | null;
  vadSensitivity: number;
  mode: Mode;
  /** Learn the speaker's voice shift from their digits (VoiceAdapter); off by default, as in `digits listen`. */
  adaptVoice: boolean;
  /** Adapt the model's normalization to the speaker's digits (NormAdapter); off by default, as in `digits listen`. */
  adaptNorm: boolean;
  /** Use the personal model "My voice" made and this browser keeps, when there is one, instead of `model`. */
  personal: boolean;
  /** Single-key shortcuts (Space, 1-4, C, S); on by default, off for speech-input software (WCAG 2.1.4). Never in kiosk mode. */
  shortcuts: boolean;
}

const KEY = 'spoken-digits.settings.v1';
const DEFAULT_SETTINGS: Settings = { model: 'default.int8.onnx', micId: '', threshold: null, vadSensitivity: 0.5, mode: 'continuous', adaptVoice: false, adaptNorm: false, personal: false, shortcuts: true };

export function loadSettings(): Settings {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return { ...DEFAULT_SETTINGS };
    const s = JSON.parse(raw) as Partial<Settings>;
    // Stored values are untrusted (older versions, hand edits): keep only well-formed ones.
    return {
      model: isModelName(s.model) ? s.model : DEFAULT_SETTINGS.model,
      micId: typeof s.micId === 'string' ? s.micId : '',
      threshold: typeof s.threshold === 'number' && s.threshold >= 0 && s.threshold <= 1 ? s.threshold : null,
      vadSensitivity: typeof s.vadSensitivity === 'number' && s.vadSensitivity >= 0 && s.vadSensitivity <= 1 ? s.vadSensitivity : 0.5,
      mode: isMode(s.mode) ? s.mode : DEFAULT_SETTINGS.mode,
      adaptVoice: s.adaptVoice === true,
      adaptNorm: typeof s.adaptNorm === 'boolean' ? s.adaptNorm : DEFAULT_SETTINGS.adaptNorm,
      personal: s.personal === true,
      shortcuts: s.shortcuts !== false,
    };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(s: Settings): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    // private mode / quota: settings just do not persist
  }
}

export interface HistoryEntry {
  time: Date;
  digit: number | null;
  candidate: number;
  confidence: number;
  /** Compute time (resample + features + model), ms. */
  computeMs: number;
  /** End of speech (VAD) or end of recording to result on screen, ms; null for files. */
  latencyMs: number | null;
  source: string;
}

export class Stats {
  readonly history: HistoryEntry[] = [];
  readonly counts = new Array<number>(10).fill(0);
  rejected = 0;
  private confidenceSum = 0;
  private accepted = 0;

  add(e: HistoryEntry): void {
    this.history.push(e);
    if (this.history.length > 500) this.history.shift();
    if (e.digit === null) this.rejected++;
    else {
      this.counts[e.digit]++;
      this.accepted++;
      this.confidenceSum += e.confidence;
    }
  }

  /** The mean confidence of the results taken as digits; null while there is none. */
  get meanConfidence(): number | null {
    return this.accepted ? this.confidenceSum / this.accepted : null;
  }

  recentLatencies(n: number): number[] {
    return this.history.slice(-n).map((e) => e.latencyMs ?? e.computeMs);
  }
}
