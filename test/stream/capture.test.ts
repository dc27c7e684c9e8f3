import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readWavFileSync } from '../../src/audio/index.js';
import { CaptureError } from '../../src/errors.js';
import { listInputDevices, openMicrophone } from '../../src/stream/index.js';
import { loadNativeCapture } from '../../src/stream/core.js';
import { makeAlsaFileDevice, makeEmptyAlsaConfig, skipWithoutCapture } from './alsa-file.js';
import { skipWhereMissing } from '../built-dist.js';
import { FSDD_DIR } from './fixtures.js';

describe('live capture through PortAudio (ALSA file-plugin device, no sound card)', function () {
  this.timeout(60000);
  const saved = process.env.ALSA_CONFIG_PATH;
  before(function () {
    skipWithoutCapture(this);
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.ALSA_CONFIG_PATH;
    else process.env.ALSA_CONFIG_PATH = saved;
  });

  it('captures exactly the samples the device plays, through the SPSC ring', async () => {
    const clip = readWavFileSync(join(FSDD_DIR, '5_nicolas_1.wav')).samples;
    const dev = makeAlsaFileDevice(clip, 16000);
    process.env.ALSA_CONFIG_PATH = dev.configPath;
    try {
      const { devices } = listInputDevices();
      assert.ok(devices.some((d) => d.isDefault), JSON.stringify(devices));
      // The null slave runs infinitely fast: a driver buffer that holds the whole clip avoids overruns.
      const mic = await openMicrophone({ sampleRate: 16000, maxFrames: clip.length, latency: 2, bufferSeconds: 4, backend: 'addon' });
      const got: number[] = [];
      for await (const block of mic) got.push(...block);
      assert.equal(got.length, clip.length);
      let worst = 0;
      for (let i = 0; i < clip.length; i++) worst = Math.max(worst, Math.abs(got[i] - clip[i]));
      assert.ok(worst <= 1 / 32768 + 1e-7, `largest difference ${worst}`);
      const stats = mic.captureStats?.();
      assert.ok(stats && stats.framesRead === clip.length && stats.callbacks > 0, JSON.stringify(stats));
    } finally {
      dev.remove();
    }
  });

  it('exits cleanly when the process ends with a stream still running', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sd-exit-'));
    try {
      const conf = join(dir, 'asound.conf');
      writeFileSync(conf, 'pcm.!default {\n type plug\n slave { pcm { type null }\n format S16_LE\n rate 16000\n channels 1 }\n}\n');
      const script = `
        const { loadNativeCapture } = await import(${JSON.stringify(new URL('../../src/stream/core.ts', import.meta.url).href)});
        const c = loadNativeCapture();
        const s = new c.binding.CaptureStream({ sampleRate: 16000 });
        s.start();
        setTimeout(() => { console.log('frames', s.stats().framesCaptured > 0); process.exit(0); }, 200);
      `;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, ALSA_CONFIG_PATH: conf },
        encoding: 'utf8',
        timeout: 20000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /frames true/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker that loads the addon and exits leaves the main thread\'s stream running; loading it twice is fine', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sd-worker-'));
    try {
      const conf = join(dir, 'asound.conf');
      writeFileSync(conf, 'pcm.!default {\n type plug\n slave { pcm { type null }\n format S16_LE\n rate 16000\n channels 1 }\n}\n');
      // Each environment closes only its own streams at its end (the worker's used to close the main thread's, from
      // the worker's thread: a crash when they raced); a second load of the addon in one environment used to abort.
      const script = `
        const { Worker } = await import('node:worker_threads');
        const { createRequire } = await import('node:module');
        const { loadNativeCapture } = await import(${JSON.stringify(new URL('../../src/stream/core.ts', import.meta.url).href)});
        const c = loadNativeCapture();
        const s = new c.binding.CaptureStream({ sampleRate: 16000 });
        s.start();
        for (let i = 0; i < 4; i++) {
          const w = new Worker('const { workerData } = require("node:worker_threads"); const a = require(workerData); const t = new a.CaptureStream({ sampleRate: 16000 }); t.start();', { eval: true, execArgv: [], workerData: ${JSON.stringify(join(process.cwd(), 'build/Release/spoken_digits.node'))} });
          await new Promise((r) => w.once('exit', r));
        }
        const before = s.stats().callbacks;
        await new Promise((r) => setTimeout(r, 100));
        const st = s.stats();
        const require = createRequire(import.meta.url);
        const p = ${JSON.stringify(join(process.cwd(), 'build/Release/spoken_digits.node'))};
        require(p); delete require.cache[p]; const again = require(p);
        console.log(JSON.stringify({ active: st.active, growing: st.callbacks > before, again: typeof again.CaptureStream }));
        s.close();
      `;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ALSA_CONFIG_PATH: conf }, encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { active: true, growing: true, again: 'function' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the addon refuses options it cannot honour with a RangeError or a typed message, never a crash or the wrong device', () => {
    const c = loadNativeCapture();
    assert.ok('binding' in c, 'unavailable' in c ? c.unavailable : '');
    const Capture = c.binding.CaptureStream as unknown as new (o?: unknown) => unknown;
    for (const [options, message] of [
      [{ device: 1e10 }, /device must be an integer in -1\.\.2147483647/],
      [{ device: Number.NaN }, /device must be an integer/],
      [{ device: -7 }, /device must be an integer/],
      [{ channels: 1.9 }, /channels must be an integer in 1\.\.32/],
      [{ framesPerBuffer: Infinity }, /framesPerBuffer must be an integer/],
      [42, /options must be an object/],
      [{ sampleRate: 384000, bufferSeconds: 600, channels: 32 }, /capture buffer of \d+ MiB asked for .* lower bufferSeconds/],
    ] as const) {
      assert.throws(() => new Capture(options), message, JSON.stringify(options));
    }
    const throwing = new Proxy({}, { get: (_t, key) => { if (key === 'device') throw new Error('getter boom'); return undefined; } });
    assert.throws(() => new Capture(throwing), /getter boom/);
    assert.throws(() => c.binding.findCaptureDevice('99999999999'), /no input device with index 99999999999/);
  });

  it('a device index no device can have is refused, not taken for the default microphone', async () => {
    const clip = readWavFileSync(join(FSDD_DIR, '5_nicolas_1.wav')).samples;
    const dev = makeAlsaFileDevice(clip, 16000);
    process.env.ALSA_CONFIG_PATH = dev.configPath;
    try {
      await assert.rejects(openMicrophone({ backend: 'addon', device: 99999999999 }), (e: Error) => e instanceof CaptureError && /there is no device 99999999999/.test(e.message));
      await assert.rejects(openMicrophone({ backend: 'addon', device: -3 }), (e: Error) => e instanceof CaptureError && /not a device index/.test(e.message));
      await assert.rejects(openMicrophone({ backend: 'addon', device: '99999999999' }), (e: Error) => e instanceof CaptureError && /no input device with index 99999999999/.test(e.message));
    } finally {
      dev.remove();
    }
  });

  it('a stream stopped and started again does not deliver what it captured before the stop', async () => {
    const c = loadNativeCapture();
    assert.ok('binding' in c, 'unavailable' in c ? c.unavailable : '');
    const clip = readWavFileSync(join(FSDD_DIR, '5_nicolas_1.wav')).samples;
    const dev = makeAlsaFileDevice(clip, 16000);
    process.env.ALSA_CONFIG_PATH = dev.configPath;
    try {
      const s = new c.binding.CaptureStream({ sampleRate: 16000, latency: 1, bufferSeconds: 2 });
      s.start();
      await new Promise((r) => setTimeout(r, 300));
      s.stop();
      assert.ok(s.available() > 0, 'the ring held nothing to go stale');
      s.stats(); // resets the latency figures
      await new Promise((r) => setTimeout(r, 500));
      s.start();
      // Read at once: anything older than the restart would have waited in the ring for the 500 ms of the stop.
      s.read(new Float32Array(64000));
      const st = s.stats();
      s.close();
      assert.ok(st.latencyMaxMs < 250, `a block waited ${st.latencyMaxMs.toFixed(0)} ms: read from before the stop`);
    } finally {
      dev.remove();
    }
  });

  it('falls back to naudiodon2 (its own PortAudio) on request, delivering the asked frames', async function () {
    const { loadNaudiodon } = await import('../../src/stream/core.js');
    const naudiodon = loadNaudiodon();
    skipWhereMissing(this, 'module' in naudiodon ? null : naudiodon.unavailable);
    const clip = readWavFileSync(join(FSDD_DIR, '2_theo_3.wav')).samples;
    const dev = makeAlsaFileDevice(clip, 8000);
    process.env.ALSA_CONFIG_PATH = dev.configPath;
    try {
      const mic = await openMicrophone({ sampleRate: 8000, maxFrames: 8000, backend: 'naudiodon' });
      assert.match(mic.description, /naudiodon2/);
      let frames = 0;
      let peak = 0;
      for await (const b of mic) {
        frames += b.length;
        for (const v of b) peak = Math.max(peak, Math.abs(v));
      }
      assert.equal(frames, 8000);
      // naudiodon2 cannot ask for a large driver buffer, so the unpaced file device overruns and
      // skips data: only check that audio (not silence) arrived.
      assert.ok(peak > 0.001, `peak ${peak}`);
    } finally {
      dev.remove();
    }
  });

  it('reports a device that vanishes mid-stream and exits without hanging (JACK dummy server killed)', async function () {
    const { spawn, spawnSync } = await import('node:child_process');
    skipWhereMissing(this, spawnSync('sh', ['-c', 'command -v jackd']).status === 0 ? null : 'no jackd (apt-get install jackd2)');
    const server = `sdtest${process.pid}`;
    const noAlsa = makeEmptyAlsaConfig(); // only JACK offers an input
    const jackd = spawn('jackd', ['-n', server, '--no-realtime', '-d', 'dummy', '-r', '16000', '-p', '160'], {
      env: { ...process.env, JACK_NO_AUDIO_RESERVATION: '1' },
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      // In a child process: PortAudio enumerates JACK at init, and a vanished stream leaves
      // PortAudio deliberately un-terminated, which must not leak into the other tests.
      const script = `
        const { openMicrophone } = await import(${JSON.stringify(new URL('../../src/stream/sources.ts', import.meta.url).href)});
        const mic = await openMicrophone({ backend: 'addon', device: 'system' });
        const t0 = performance.now();
        let frames = 0;
        setTimeout(() => process.kill(${jackd.pid}, 'SIGTERM'), 500);
        try {
          for await (const b of mic) frames += b.length;
          console.log('ended quietly');
        } catch (e) {
          console.log(e.name + ': ' + e.message + ' after ' + Math.round(performance.now() - t0) + ' ms, frames ' + (frames > 0));
        }
      `;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, JACK_DEFAULT_SERVER: server, ALSA_CONFIG_PATH: noAlsa.configPath },
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(r.signal, null, 'the process hung after the device vanished');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /CaptureError: the capture device stopped delivering audio .* frames true/);
    } finally {
      jackd.kill('SIGKILL');
      noAlsa.remove();
    }
  });

  it('says there is no microphone when ALSA has no device, and rejects unknown device names', async () => {
    const empty = makeEmptyAlsaConfig();
    process.env.ALSA_CONFIG_PATH = empty.configPath;
    try {
      await assert.rejects(openMicrophone({ backend: 'addon' }), (e: Error) => e instanceof CaptureError && /no default input device/.test(e.message));
      await assert.rejects(openMicrophone({ backend: 'addon', device: 'USB headset' }), (e: Error) => e instanceof CaptureError && /no input device matches 'USB headset'/.test(e.message));
    } finally {
      empty.remove();
    }
  });
});

describe('the naudiodon2 fallback (the addon unavailable)', function () {
  this.timeout(60000);

  it('lists input devices with one PortAudio scan where there are none (each scan prints ALSA errors without a sound card)', async function () {
    const { loadNaudiodon } = await import('../../src/stream/core.js');
    const naudiodon = loadNaudiodon();
    skipWhereMissing(this, 'module' in naudiodon ? null : naudiodon.unavailable);
    const { spawnSync } = await import('node:child_process');
    // A child without the addon, on this machine's own ALSA configuration: how many lines alsa-lib
    // prints for one PortAudio initialization, and for listInputDevices().
    const script = `
      const { createRequire } = await import('node:module');
      const { listInputDevices } = await import(${JSON.stringify(new URL('../../src/stream/sources.ts', import.meta.url).href)});
      const found = process.argv.at(-1) === 'once' ? createRequire(${JSON.stringify(import.meta.url)})('naudiodon2').getHostAPIs().HostAPIs.reduce((n, api) => n + api.deviceCount, 0) : listInputDevices().devices.length;
      console.log(JSON.stringify({ found }));
    `;
    const probe = (what: string) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, what], {
        env: { ...process.env, SPOKEN_DIGITS_ADDON: '/nonexistent/spoken_digits.node' },
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(r.status, 0, r.stderr);
      return { found: (JSON.parse(r.stdout) as { found: number }).found, alsaLines: r.stderr.split('\n').filter((l) => l.startsWith('ALSA lib')).length };
    };
    const once = probe('once');
    // A sound card (devices to list), or an ALSA that prints nothing: nothing to tell one scan from two by.
    if (once.found > 0 || once.alsaLines === 0) this.skip();
    const listed = probe('list');
    assert.equal(listed.found, 0);
    assert.equal(listed.alsaLines, once.alsaLines, 'listInputDevices initialized PortAudio more than once');
  });
});
