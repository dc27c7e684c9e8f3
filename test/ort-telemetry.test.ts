import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { telemetryDisabled } from '../src/model/ort.js';
import { DIST, ROOT, distUnusable, skipWhereMissing } from './built-dist.js';
import { FSDD_RECORDINGS } from './fsdd.js';

const CLIP = join(FSDD_RECORDINGS, '3_theo_0.wav');
const DIST_CLI = join(DIST, 'cli.js');
const SOURCE_CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/**
 * ONNX Runtime collects nothing when it sees a CI system (these variables, read from its 1.30 library;
 * setting CI or JENKINS_URL was checked to suppress it). The children here run without them, as on a
 * user's machine: in CI the checks would otherwise pass whatever src/model/ort.ts does.
 */
const CI_VARS = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER', 'ORT_RUNNING_UNIT_TESTS'];

/** Whether a command can run without any network (a user and network namespace of its own). */
const offline = spawnSync('unshare', ['-rn', 'true']).status === 0;

/**
 * Runs `digits predict` with an empty HOME and XDG cache of its own and lists every file it left
 * there. ONNX Runtime 1.29+ keeps its device id and queue of usage events for Microsoft under
 * $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime (src/model/ort.ts); `predict` itself
 * writes nothing in HOME, so any file there is the runtime's.
 */
function runPredict(cli: string[], telemetryEnv: string | undefined, { noNetwork = false } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'sd-telemetry-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), NO_COLOR: '1' };
    for (const v of [...CI_VARS, 'ORT_DISABLE_TELEMETRY']) delete env[v];
    if (telemetryEnv !== undefined) env.ORT_DISABLE_TELEMETRY = telemetryEnv;
    const argv = [process.execPath, ...cli, 'predict', CLIP];
    const r = noNetwork ? spawnSync('unshare', ['-rn', ...argv], { encoding: 'utf8', env, cwd: ROOT }) : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env, cwd: ROOT });
    const wrote = readdirSync(home, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(home.length + 1));
    return { code: r.status, stderr: r.stderr, wrote };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

describe("ONNX Runtime's telemetry is off by default", function () {
  this.timeout(120000);

  it('control: with telemetry opted in (and no network), the runtime writes its device id, so the checks below can fail', function () {
    // Opting in must not send anything from a developer's machine: only without a network.
    if (!offline) this.skip();
    const r = runPredict(SOURCE_CLI, '0', { noNetwork: true });
    assert.equal(r.code, 0, r.stderr);
    if (r.wrote.length === 0) this.skip(); // a runtime without telemetry: nothing to switch off
    assert.ok(r.wrote.some((f) => f.endsWith('deviceid')), r.wrote.join(', '));
  });

  it('`digits predict` leaves no file in HOME: no device id, no event queue', () => {
    const r = runPredict(SOURCE_CLI, undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.wrote, []);
  });

  it('the built CLI (dist/cli.js) does the same', function () {
    skipWhereMissing(this, distUnusable());
    const r = runPredict([DIST_CLI], undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.wrote, []);
  });

  it('reads the variable as the runtime does', () => {
    // Checked against onnxruntime-node 1.30: these values turn it off (case and spaces ignored), these leave it on.
    for (const v of ['1', 'true', 'YES', 'True', 'on', 'ON', 'y', 'Y', ' 1', '1 ']) assert.equal(telemetryDisabled({ ORT_DISABLE_TELEMETRY: v }), true, v);
    for (const v of [undefined, '', '0', 'false', '2']) assert.equal(telemetryDisabled({ ORT_DISABLE_TELEMETRY: v }), false, String(v));
    // Loading the module set it, unless the environment had its own value (an opt-in stays one).
    assert.notEqual(process.env.ORT_DISABLE_TELEMETRY, undefined);
  });
});
