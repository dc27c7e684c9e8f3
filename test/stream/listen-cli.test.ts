import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32ToInt16 } from '../../src/audio/index.js';
import { makeAlsaFileDevice, makeEmptyAlsaConfig, skipWithoutCapture } from './alsa-file.js';
import { editDistance, makeDigitString, rng } from './fixtures.js';
import { monoWav } from '../fixtures/wav.js';
import { FSDD_RECORDINGS } from '../fsdd.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  events: { type: string; [k: string]: unknown }[];
}

function digits(args: string[], stdin?: Buffer, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = args.includes('--json')
        ? stdout
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Run['events'][number])
        : [];
      resolve({ code, stdout, stderr, events });
    });
    child.stdin.on('error', () => undefined); // the CLI may exit before reading everything
    if (stdin) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

function s16(samples: Float32Array): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  float32ToInt16(samples).forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

const heard = (r: Run) =>
  r.events
    .filter((e) => e.type === 'digit')
    .map((e) => e.digit)
    .join('');

describe('digits listen (CLI)', function () {
  this.timeout(120000);
  const spoken = makeDigitString('90210', 'nicolas', rng(21));
  const raw = s16(spoken.samples);

  it('streams raw PCM from stdin and prints NDJSON events ending with the string', async () => {
    const r = await digits(['listen', '--input', '-', '--rate', '8000', '--json'], raw);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(editDistance('90210', heard(r)) <= 1, `heard ${heard(r)}`);
    const types = r.events.map((e) => e.type);
    assert.ok(types.includes('speechstart') && types.includes('level'));
    assert.equal(types.at(-1), 'end');
    assert.equal(r.events.find((e) => e.type === 'string')?.digits, heard(r));
  });

  it('takes a WAV on stdin without --rate, and a WAV file with the live view', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-cli-'));
    try {
      const wav = monoWav(spoken.samples, 8000);
      const viaStdin = await digits(['listen', '--input', '-', '--json'], wav);
      assert.equal(viaStdin.code, 0, viaStdin.stderr);
      assert.ok(heard(viaStdin).length >= 4);
      const path = join(dir, 'spoken.wav');
      writeFileSync(path, wav);
      const view = await digits(['listen', '--input', path]);
      assert.equal(view.code, 0, view.stderr);
      assert.match(view.stdout, /string: \d{4,6}/);
      assert.match(view.stdout, /5 digit\(s\), 0 rejected, \d\.\d s of audio/);
      // The banner is a diagnostic (stderr); stdout holds what was heard.
      assert.match(view.stderr, /listening to .*spoken\.wav/);
      assert.doesNotMatch(view.stdout, /listening to/);
      // A file cut off while written (its header declares more): what is there is heard, and the cut is said.
      const cut = join(dir, 'cut.wav');
      writeFileSync(cut, wav.subarray(0, wav.length - 4000));
      const cutView = await digits(['listen', '--input', cut, '--json']);
      assert.equal(cutView.code, 0, cutView.stderr);
      assert.match(cutView.stderr, /note: .*cut\.wav .*truncated: \d\.\d\d s of the \d\.\d\d s its header declares/);
      assert.ok(heard(cutView).length >= 3, heard(cutView));
      assert.doesNotMatch(view.stderr, /truncated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Ctrl-C (or a supervisor\'s SIGTERM) ends it at once while stdin is open and quiet, with the end event and exit code 130 (143)', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'listen', '--input', '-', '--rate', '8000', '--json'], { env: { ...process.env, NO_COLOR: '1' } });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stdin.on('error', () => undefined);
      child.stdin.write(Buffer.alloc(16000)); // 1 s of silence, then nothing: the pipe stays open
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // Once it has read what came (its first level event), the quiet pipe is all there is.
      await new Promise<void>((resolve) => child.stdout.on('data', () => stdout.includes('"level"') && resolve()));
      const t0 = performance.now();
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      assert.ok(performance.now() - t0 < 3000, `${signal}: exited after ${performance.now() - t0} ms`);
      // 128 + the signal's number, after the clean end: a shell loop sees that it was interrupted.
      assert.equal(code, signal === 'SIGINT' ? 130 : 143, `${signal}: ${stdout}`);
      assert.match(stdout.trim().split('\n').at(-1) ?? '', /"type":"end"/);
    }
  });

  it('Ctrl-C before stdin\'s first byte still ends the session with an (empty) end event and exit code 130', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'listen', '--input', '-', '--rate', '8000', '--json'], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Nothing is written: it waits for stdin once it has loaded and gone idle (half a second asleep in
    // the event loop, read from /proc), where its signal handlers are in place.
    await idleInEventLoop(child.pid!);
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 130, stdout);
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), { type: 'end', durationMs: 0, digitCount: 0, rejectedCount: 0 });
  });

  it('says when the input is clipping: on stderr once, without a terminal; in every --json level event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'listen-loud-'));
    try {
      const loud = join(dir, 'loud.wav');
      assert.equal(spawnSync('sox', [join(FSDD_RECORDINGS, '5_nicolas_3.wav'), loud, 'vol', '40', 'pad', '0.5', '0.5']).status, 0);
      const text = await digits(['listen', '--input', loud]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stderr.match(/note: the input is clipping at \d+\.\d s \(too loud: lower the input gain\)/g)?.length, 1, text.stderr);
      const json = await digits(['listen', '--input', loud, '--json']);
      const levels = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'level');
      assert.ok(levels.length > 0 && levels.every((e) => typeof e.clipped === 'number'));
      assert.ok(Math.max(...levels.map((e) => e.clipped)) > 0.1);
      const quiet = await digits(['listen', '--input', join(FSDD_RECORDINGS, '5_nicolas_3.wav')]);
      assert.doesNotMatch(quiet.stderr, /clipping/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses text and empty stdin, a missing file and bad options with exit code 2', async () => {
    const text = await digits(['listen', '--input', '-', '--rate', '8000'], Buffer.from('hello, this is not audio at all\n'.repeat(10)));
    assert.equal(text.code, 2);
    assert.match(text.stderr, /stdin is text, not audio/);
    // A word and a newline (echo hi |) is text too, however short.
    const word = await digits(['listen', '--input', '-', '--rate', '8000'], Buffer.from('hi\n'));
    assert.equal(word.code, 2);
    assert.match(word.stderr, /stdin is text, not audio/);
    const empty = await digits(['listen', '--input', '-', '--rate', '8000']);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /stdin closed without sending any audio/);
    // A terminal on stdin (script(1) gives it one): refused at once, not waited on for ever.
    const tty = spawnSync('script', ['-qec', `${process.execPath} --import tsx src/cli/main.ts listen --input - --rate 8000`, '/dev/null'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(tty.status, 2, `${tty.stdout}${tty.stderr}`);
    assert.match(tty.stdout, /stdin is a terminal; pipe audio into it/);
    const missing = await digits(['listen', '--input', '/nonexistent/x.wav']);
    assert.equal(missing.code, 2, missing.stderr);
    const bad = await digits(['listen', '--input', '-', '--rate', '8000', '--sensitivity', '3'], raw);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sensitivity 3 must be a number in 0\.\.1/);
  });

  it('binary garbage on stdin is heard as noise: no digits, clean exit', async () => {
    const r = rng(31);
    const junk = Buffer.alloc(8000 * 2 * 10);
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256);
    const run = await digits(['listen', '--input', '-', '--rate', '8000', '--json'], junk);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(heard(run), '');
    assert.equal(run.events.at(-1)?.type, 'end');
  });

  describe('with live capture (PortAudio over an ALSA file device)', () => {
    before(function () {
      skipWithoutCapture(this);
    });

    it('lists the devices and recognizes digits spoken into the microphone', async () => {
      const dev = makeAlsaFileDevice(spoken.samples, 8000);
      try {
        const env = { ALSA_CONFIG_PATH: dev.configPath };
        const list = await digits(['listen', '--list-devices', '--json'], undefined, env);
        assert.equal(list.code, 0, list.stderr);
        const listed = list.events as unknown as { backend: string; devices: { isDefault: boolean }[] }[];
        assert.equal(listed.length, 1, list.stdout);
        assert.equal(listed[0].backend, 'addon');
        assert.ok(listed[0].devices.some((d) => d.isDefault === true), list.stdout);
        const seconds = spoken.samples.length / 8000;
        const r = await digits(
          ['listen', '--json', '--capture-rate', '8000', '--capture-latency', String(Math.ceil(seconds) + 1), '--duration', String(seconds)],
          undefined,
          env,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.ok(editDistance('90210', heard(r)) <= 1, `heard ${heard(r)}`);
      } finally {
        dev.remove();
      }
    });

    it('says clearly when there is no microphone', async () => {
      const empty = makeEmptyAlsaConfig();
      try {
        const r = await digits(['listen'], undefined, { ALSA_CONFIG_PATH: empty.configPath });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /no default input device/);
        const list = await digits(['listen', '--list-devices', '--json'], undefined, { ALSA_CONFIG_PATH: empty.configPath });
        assert.equal(list.code, 0, list.stderr);
        assert.deepEqual(list.events, [{ backend: 'addon', devices: [] }]);
      } finally {
        empty.remove();
      }
    });
  });
});

/** Resolves once process `pid` has slept in its event loop (epoll_wait) for 500 ms in a row (Linux /proc; 5 s where it cannot be read). */
async function idleInEventLoop(pid: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (let idle = 0; idle < 10 && performance.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    let wchan: string;
    try {
      wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8');
    } catch {
      await new Promise((r) => setTimeout(r, 5000));
      return;
    }
    idle = wchan.includes('epoll_wait') ? idle + 1 : 0;
  }
}
