import type { EpochRecord } from './trainer.js';

/** Plain SVG, no plotting dependency: two small line charts and a heat map are all we draw. */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Series {
  name: string;
  colour: string;
  values: number[];
}

function lineChart(x0: number, y0: number, w: number, h: number, title: string, series: Series[], yMin: number, yMax: number): string {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const sx = (i: number) => x0 + (n === 1 ? w / 2 : (i / (n - 1)) * w);
  const sy = (v: number) => y0 + h - ((Math.min(yMax, Math.max(yMin, v)) - yMin) / (yMax - yMin || 1)) * h;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + w / 2}" y="${y0 - 10}" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) * k) / 4;
    const y = sy(v);
    parts.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="10">${v.toFixed(2)}</text>`);
  }
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 28}" text-anchor="middle" font-size="11">epoch</text>`);
  const ticks = Math.min(n, 10);
  for (let k = 0; k < ticks; k++) {
    const i = Math.round((k / Math.max(1, ticks - 1)) * (n - 1));
    parts.push(`<text x="${sx(i)}" y="${y0 + h + 14}" text-anchor="middle" font-size="10">${i + 1}</text>`);
  }
  series.forEach((s, j) => {
    const pts = s.values.map((v, i) => `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    parts.push(`<rect x="${x0 + 10}" y="${y0 + 8 + 16 * j}" width="12" height="3" fill="${s.colour}"/>`);
    parts.push(`<text x="${x0 + 26}" y="${y0 + 13 + 16 * j}" font-size="11">${esc(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** Each digit's accuracy (its row's diagonal share) from a confusion matrix whose first ten rows are 0-9. */
export function perDigitAccuracy(confusion: readonly (readonly number[])[]): Record<string, number> {
  return Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => {
      const row = confusion[i];
      const n = row.reduce((a, b) => a + b, 0);
      return [String(i), n ? Number((row[i] / n).toFixed(4)) : 0];
    }),
  );
}

/** Loss and accuracy per epoch, training and validation. */
export function curvesSvg(history: readonly EpochRecord[], title: string): string {
  const losses = history.flatMap((h) => [h.trainLoss, h.valLoss]).filter(Number.isFinite);
  const lossMax = Math.max(0.1, ...losses);
  const accs = history.flatMap((h) => [h.trainAccuracy, h.valAccuracy]);
  const accMin = Math.max(0, Math.floor(Math.min(1, ...accs) * 10) / 10);
  const w = 820;
  const h = 330;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    lineChart(60, 60, 320, 220, 'loss', [
      { name: 'train', colour: '#1f77b4', values: history.map((e) => e.trainLoss) },
      { name: 'validation', colour: '#d62728', values: history.map((e) => e.valLoss) },
    ], 0, lossMax),
    lineChart(470, 60, 320, 220, 'accuracy', [
      { name: 'train', colour: '#1f77b4', values: history.map((e) => e.trainAccuracy) },
      { name: 'validation', colour: '#d62728', values: history.map((e) => e.valAccuracy) },
    ], accMin, 1),
    '</svg>',
  ].join('\n');
}

/** Row-normalised confusion matrix (rows: true label, columns: predicted), counts in the cells. */
export function confusionSvg(confusion: readonly (readonly number[])[], labels: readonly string[], title: string): string {
  const n = labels.length;
  const cell = 36;
  const x0 = 70;
  const y0 = 70;
  const size = x0 + n * cell + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 20}" viewBox="0 0 ${size} ${size + 20}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${size / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${x0 + (n * cell) / 2}" y="${y0 - 26}" text-anchor="middle" font-size="12">predicted</text>`,
    `<text x="18" y="${y0 + (n * cell) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 18 ${y0 + (n * cell) / 2})">true</text>`,
  ];
  for (let i = 0; i < n; i++) {
    const total = confusion[i].reduce((s, v) => s + v, 0) || 1;
    parts.push(`<text x="${x0 - 8}" y="${y0 + i * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${esc(labels[i])}</text>`);
    parts.push(`<text x="${x0 + i * cell + cell / 2}" y="${y0 - 8}" text-anchor="middle" font-size="12">${esc(labels[i])}</text>`);
    for (let j = 0; j < n; j++) {
      const v = confusion[i][j];
      const f = v / total;
      const shade = Math.round(255 * (1 - f));
      const fill = i === j ? `rgb(${shade},${Math.round(255 - 90 * f)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(`<rect x="${x0 + j * cell}" y="${y0 + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"/>`);
      if (v > 0) parts.push(`<text x="${x0 + j * cell + cell / 2}" y="${y0 + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="11" fill="${f > 0.6 ? 'white' : 'black'}">${v}</text>`);
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}
