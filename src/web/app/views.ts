import type { FeatureMatrix } from '../../features/backend.js';

/** Canvas drawing for the live waveform, the feature image and the latency chart. */

function fitCanvas(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  return canvas.getContext('2d')!;
}

// Theme colours, read once per colour-scheme change: getComputedStyle on every frame forces a style pass.
const colours = new Map<string, string>();
matchMedia('(prefers-color-scheme: dark)').addEventListener?.('change', () => colours.clear());
function cssVar(name: string, fallback: string): string {
  let v = colours.get(name);
  if (v === undefined) {
    v = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
    colours.set(name, v);
  }
  return v;
}

/** The last seconds of input, kept at a display resolution (min/max per column) so drawing is cheap. */
export class WaveformView {
  private readonly mins: Float32Array;
  private readonly maxs: Float32Array;
  private head = 0;
  private acc = 0;
  private curMin = 1;
  private curMax = -1;
  private dirty = true;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly columns = 600, private readonly seconds = 3) {
    this.mins = new Float32Array(columns);
    this.maxs = new Float32Array(columns);
  }

  push(samples: Float32Array, sampleRate: number): void {
    const perColumn = Math.max(1, Math.round((sampleRate * this.seconds) / this.columns));
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i];
      if (v < this.curMin) this.curMin = v;
      if (v > this.curMax) this.curMax = v;
      if (++this.acc >= perColumn) {
        this.mins[this.head] = this.curMin;
        this.maxs[this.head] = this.curMax;
        this.head = (this.head + 1) % this.columns;
        this.acc = 0;
        this.curMin = 1;
        this.curMax = -1;
      }
    }
    this.dirty = true;
  }

  draw(speech: boolean): void {
    if (!this.dirty) return;
    this.dirty = false;
    const ctx = fitCanvas(this.canvas);
    const { width: w, height: h } = this.canvas;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = speech ? cssVar('--accent', '#38bdf8') : cssVar('--wave', '#64748b');
    const colW = w / this.columns;
    // One path, one fill: hundreds of fillRect calls per frame cost more than the recognition.
    ctx.beginPath();
    for (let i = 0; i < this.columns; i++) {
      const k = (this.head + i) % this.columns;
      // Square-root scale: quiet speech stays visible next to loud speech.
      const top = Math.sign(this.maxs[k]) * Math.sqrt(Math.abs(this.maxs[k]));
      const bot = Math.sign(this.mins[k]) * Math.sqrt(Math.abs(this.mins[k]));
      const y0 = ((1 - top) / 2) * h;
      const y1 = ((1 - bot) / 2) * h;
      ctx.rect(i * colW, y0, Math.max(1, colW), Math.max(1, y1 - y0));
    }
    ctx.fill();
  }
}

// A perceptual dark-to-bright ramp (approximates viridis) as a 256-entry lookup table.
const STOPS: [number, number, number][] = [
  [68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37],
];
const LUT = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const t = (i / 255) * (STOPS.length - 1);
  const a = Math.floor(t);
  const b = Math.min(STOPS.length - 1, a + 1);
  const f = t - a;
  for (let c = 0; c < 3; c++) LUT[i * 3 + c] = STOPS[a][c] + (STOPS[b][c] - STOPS[a][c]) * f;
}

/** The feature matrix (frames x dims) as an image: time left to right, low coefficients at the bottom. */
export function drawFeatures(canvas: HTMLCanvasElement, m: FeatureMatrix): void {
  canvas.width = m.frames;
  canvas.height = m.dims;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(m.frames, m.dims);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let f = 0; f < m.frames; f++) {
    for (let d = 0; d < m.dims; d++) {
      const v = Math.round((m.data[f * m.dims + d] - lo) * scale);
      const p = ((m.dims - 1 - d) * m.frames + f) * 4;
      img.data[p] = LUT[v * 3];
      img.data[p + 1] = LUT[v * 3 + 1];
      img.data[p + 2] = LUT[v * 3 + 2];
      img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

/** Bars of recent latencies (ms), newest on the right, with the mean as a line. */
export function drawLatencyChart(canvas: HTMLCanvasElement, values: number[]): void {
  const ctx = fitCanvas(canvas);
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (values.length === 0) return;
  const max = Math.max(5, ...values) * 1.1;
  const barW = w / Math.max(values.length, 20);
  ctx.fillStyle = cssVar('--accent', '#38bdf8');
  values.forEach((v, i) => {
    const bh = (v / max) * (h - 14);
    ctx.fillRect(i * barW + 1, h - bh, Math.max(1, barW - 2), bh);
  });
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const y = h - (mean / max) * (h - 14);
  ctx.strokeStyle = cssVar('--fg', '#e2e8f0');
  ctx.setLineDash([4, 4]);
  ctx.beginPath();
  ctx.moveTo(0, y);
  ctx.lineTo(w, y);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = cssVar('--fg', '#e2e8f0');
  ctx.font = `${Math.round(11 * Math.min(2, window.devicePixelRatio || 1))}px system-ui, sans-serif`;
  ctx.fillText(`mean ${mean.toFixed(1)} ms · max ${Math.max(...values).toFixed(1)} ms`, 4, 12 * Math.min(2, window.devicePixelRatio || 1));
}
