/**
 * Capture benchmark: the addon's PortAudio callback → SPSC ring → JS pull, against naudiodon2
 * (its own PortAudio, a Node Readable fed from the callback).
 *
 * Needs no sound card: ALSA's `null` capture device behind `plug` (16 kHz S16_LE). That device is
 * NOT paced by a clock — it delivers as fast as the reader takes — so this measures the
 * capture paths under saturation: frames delivered to JavaScript per second, JS-thread CPU,
 * how long samples wait between the callback and JavaScript (addon only: the ring stamps every
 * callback), and drops. On real hardware the callback runs every few ms and the wait is about
 * half the poll interval.
 *
 *   npx tsx bench/capture.ts [--seconds 3] [--poll 20] [--system-device] [--json] [--help]
 *
 * --system-device uses the machine's default input instead of the unpaced null device: a real
 * microphone, or JACK's clock-driven dummy backend, which is how the paced figures were taken
 * without hardware:  jackd --no-realtime -d dummy -r 16000 -p 160 &
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadNativeCapture, loadNaudiodon } from '../src/stream/core.js';
import { BenchArgs } from './args.js';

const args = new BenchArgs(import.meta.url, { seconds: { type: 'string' }, poll: { type: 'string' }, 'system-device': { type: 'boolean' }, json: { type: 'boolean' } });
const seconds = args.number('seconds', 3);
const pollMs = args.number('poll', 20);
const rate = 16000;

const systemDevice = args.flag('system-device');
const dir = mkdtempSync(join(tmpdir(), 'sd-capbench-'));
if (!systemDevice) {
  const conf = join(dir, 'asound.conf');
  writeFileSync(conf, `pcm.!default {\n type plug\n slave { pcm { type null }\n format S16_LE\n rate ${rate}\n channels 1 }\n}\n`);
  process.env.ALSA_CONFIG_PATH = conf;
}

interface Row {
  path: string;
  framesPerSec: number;
  cpuPercent: number;
  waitMeanMs: string;
  waitMaxMs: string;
  dropped: string;
}
const rows: Row[] = [];
/** Capture paths that could not run here, and why. */
const skipped: { path: string; reason: string }[] = [];

async function benchAddon(): Promise<void> {
  const native = loadNativeCapture();
  if (!('binding' in native)) {
    skipped.push({ path: 'addon', reason: native.unavailable });
    return;
  }
  const s = new native.binding.CaptureStream({ sampleRate: rate, bufferSeconds: 2 });
  const buf = new Float32Array(rate);
  s.start();
  s.stats();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let frames = 0;
  let waitSum = 0;
  let waitMax = 0;
  let blocks = 0;
  while (performance.now() - t0 < seconds * 1000) {
    frames += s.read(buf);
    const st = s.stats();
    waitSum += st.latencyMeanMs * st.latencyBlocks;
    blocks += st.latencyBlocks;
    waitMax = Math.max(waitMax, st.latencyMaxMs);
    await sleep(pollMs);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const st = s.stats();
  s.close();
  rows.push({
    path: `addon ring, JS polls every ${pollMs} ms`,
    framesPerSec: Math.round(frames / wall),
    // Includes PortAudio's own thread (same process), which spins on the unpaced device.
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100),
    waitMeanMs: (waitSum / Math.max(1, blocks)).toFixed(2),
    waitMaxMs: waitMax.toFixed(2),
    dropped: `${st.droppedFrames} frames (${st.overflows} overflows)`,
  });
}

async function benchNaudiodon(): Promise<void> {
  const nd = loadNaudiodon();
  if (!('module' in nd)) {
    skipped.push({ path: 'naudiodon2', reason: nd.unavailable });
    return;
  }
  const io = nd.module.AudioIO({
    inOptions: { channelCount: 1, sampleFormat: nd.module.SampleFormatFloat32, sampleRate: rate, deviceId: -1, closeOnError: false },
  });
  let bytes = 0;
  io.on('data', (b: Buffer) => {
    bytes += b.length;
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  io.start();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await new Promise<void>((r) => io.quit(() => r()));
  rows.push({
    path: 'naudiodon2 Readable',
    framesPerSec: Math.round(bytes / 4 / wall),
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100),
    waitMeanMs: 'n/a (no callback stamps)',
    waitMaxMs: 'n/a',
    dropped: 'not reported',
  });
}

try {
  await benchAddon();
  await benchNaudiodon();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (args.flag('json')) {
  console.log(JSON.stringify({ rate, seconds, systemDevice, rows, skipped }));
  process.exit(0);
}
for (const { path, reason } of skipped) console.log(`${path}: skipped (${reason})`);
console.log(
  systemDevice
    ? `capture from the default input device at ${rate} Hz for ${seconds} s`
    : `capture on an unpaced ALSA null device at ${rate} Hz for ${seconds} s (saturation test; see header)`,
);
console.table(rows);
