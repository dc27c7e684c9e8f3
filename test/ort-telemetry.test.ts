import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { telemetryDisabled } from '../src/model/ort.js';
import { FSDD_RECORDINGS } from './fsdd.js';

const CLIP = join(FSDD_RECORDINGS, '3_theo_0.wav');
const DIST_CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

/**
 * ONNX Runtime 1.29+ keeps a device id and a queue of usage events for Microsoft under
 * $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime (src/model/ort.ts). Each run gets its own
 * empty HOME and cache, so what the runtime writes there is all this process wrote.
 */
function runPredict(cli: string[], telemetryEnv: string | undefined): { code: number | null; stderr: string; wrote: string[] } {
  const home = mkdtempSync(join(tmpdir(), 'sd-telemetry-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), NO_COLOR: '1' };
    delete env.ORT_DISABLE_TELEMETRY;
    if (telemetryEnv !== undefined) env.ORT_DISABLE_TELEMETRY = telemetryEnv;
    const r = spawnSync(process.execPath, [...cli, 'predict', CLIP], { encoding: 'utf8', env, cwd: join(import.meta.dirname, '..') });
    const dir = join(home, 'cache', 'Microsoft');
    return { code: r.status, stderr: r.stderr, wrote: existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [] };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

describe("ONNX Runtime's telemetry is off by default", function () {
  this.timeout(120000);
  const source = ['--import', 'tsx', 'src/cli/main.ts'];

  it('the opt-in control shows the runtime does write its device id (else there is nothing to check)', function () {
    const r = runPredict(source, '0');
    assert.equal(r.code, 0, r.stderr);
    if (r.wrote.length === 0) this.skip(); // a runtime without telemetry: the tests below cannot fail
    assert.ok(r.wrote.some((f) => f.endsWith('deviceid')), r.wrote.join(', '));
  });

  it('`digits predict` writes no device id and queues no events', () => {
    const r = runPredict(source, undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.wrote, []);
  });

  it('the built CLI (dist/cli.js) does the same', function () {
    if (!existsSync(DIST_CLI)) this.skip(); // `npm run build` makes it; CI builds before testing
    const r = runPredict([DIST_CLI], undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.wrote, []);
  });

  it('reads the variable as the runtime does', () => {
    for (const v of ['1', 'true', 'YES', 'on', 'y', ' 1 ']) assert.equal(telemetryDisabled({ ORT_DISABLE_TELEMETRY: v }), true, v);
    for (const v of [undefined, '', '0', 'false', 'no', 'off']) assert.equal(telemetryDisabled({ ORT_DISABLE_TELEMETRY: v }), false, String(v));
    // Loading the module set it for this process.
    assert.equal(telemetryDisabled(), true);
  });
});
