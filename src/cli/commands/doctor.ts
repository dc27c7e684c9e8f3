import type { Command } from 'commander';
import { colors, printJson } from '../output.js';
import { oneLine } from '../../errors.js';

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the installation: Node, feature backends, ONNX Runtime, audio capture, models, data')
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      const checks = await runChecks();
      if (opts.json) printJson({ ok: checks.every((c) => c.status !== 'fail'), checks });
      else {
        const mark = { ok: colors.green('ok  '), warn: colors.yellow('warn'), fail: colors.red('FAIL') };
        for (const c of checks) console.log(`${mark[c.status]} ${c.name.padEnd(18)} ${c.detail}`);
      }
      if (checks.some((c) => c.status === 'fail')) process.exitCode = 1;
    });
}

async function attempt(name: string, run: () => Promise<Omit<Check, 'name'>>): Promise<Check> {
  try {
    return { name, ...(await run()) };
  } catch (err) {
    // Every line of it (what was tried, the fix), on one line of the report.
    return { name, status: 'fail', detail: oneLine((err as Error).message) };
  }
}

async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({ name: 'node', status: major >= 20 ? 'ok' : 'fail', detail: `${process.version}${major >= 20 ? '' : ' (spoken-digits needs Node >= 20)'}` });

  const features = await import('../../features/index.js');
  const native = await attempt('native addon', async () => {
    const backend = await features.loadFeatureBackend({ backend: 'native' });
    const { loadedAddonPath } = await import('../../features/native.js');
    return { status: 'ok', detail: `loaded (${backend.name}, ${loadedAddonPath()})` };
  });
  checks.push(native.status === 'ok' ? native : { ...native, status: 'warn', detail: `${native.detail} — the WebAssembly backend is used instead` });
  checks.push(await attempt('wasm backend', async () => {
    await features.loadFeatureBackend({ backend: 'wasm' });
    return { status: 'ok', detail: 'loaded' };
  }));

  checks.push(await attempt('onnxruntime', async () => {
    const { ort, telemetryDisabled, TELEMETRY_ENV } = await import('../../model/ort.js');
    const { thisCpuSaturates, SATURATION_FREE_INT8_PEAK } = await import('../../model/int8-cpu.js');
    const saturates = thisCpuSaturates();
    const int8 = `; int8 on this CPU: ${saturates ? `x86 without VNNI, 8-bit weights past ±${SATURATION_FREE_INT8_PEAK} saturate` : saturates === false ? 'no saturation' : 'not known (CPU flags not readable)'}`;
    const version = `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
    if (telemetryDisabled()) return { status: 'ok', detail: `${version}${int8}; Microsoft telemetry off` };
    return { status: 'warn', detail: `${version}${int8}; Microsoft telemetry ON (${TELEMETRY_ENV}=${process.env[TELEMETRY_ENV]}): the runtime keeps a device id and queues usage events for upload to Microsoft; unset it to turn that off` };
  }));

  checks.push(await attempt('audio capture', async () => {
    const { listInputDevices } = await import('../../stream/sources.js');
    const { backend, devices } = listInputDevices();
    const { loadNativeCapture } = await import('../../stream/core.js');
    const native = loadNativeCapture();
    const library = 'binding' in native ? native.binding.portAudioLibrary : undefined;
    const source =
      backend === 'addon'
        ? `PortAudio (addon${library ? `, ${library} loaded at run time` : ''})`
        : `PortAudio (naudiodon2 fallback; the addon: ${'unavailable' in native ? native.unavailable : 'no capture'})`;
    if (devices.length === 0) return { status: 'warn', detail: `${source}; no input device — \`digits listen\` needs a microphone (or --input FILE)` };
    const names = devices.slice(0, 4).map((d) => `${d.name}${d.isDefault ? ' (default)' : ''}`).join(', ');
    return { status: 'ok', detail: `${source}; ${devices.length} input device(s): ${names}` };
  }));
  const capture = checks[checks.length - 1];
  if (capture.status === 'fail') capture.status = 'warn';

  const [{ readdir, readFile }, { join }, { modelsDir }, { parseModelMetadata }, { createHash }, { int8RangeWarning }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('../../model/package-root.js'),
    import('../../model/read-metadata.js'),
    import('node:crypto'),
    import('../../model/int8-cpu.js'),
  ]);
  const dir = modelsDir();
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.onnx')).sort();
  if (files.length === 0) checks.push({ name: 'models', status: 'fail', detail: `no .onnx files in ${dir}` });
  for (const file of files) {
    checks.push(await attempt(`model ${file}`, async () => {
      const bytes = await readFile(join(dir, file));
      const info = parseModelMetadata(bytes, file);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const expected = await expectedHash(join(dir, file), readFile);
      if (expected && expected !== sha256) return { status: 'fail', detail: `sha256 ${sha256.slice(0, 12)}… does not match its model card (${expected.slice(0, 12)}…): the file is damaged — reinstall spoken-digits` };
      const { DigitRecognizer } = await import('../../model/recognizer.js');
      // By path: a warning the recognizer gives (an int8 range this CPU saturates) names the file.
      const recognizer = await DigitRecognizer.load({ model: join(dir, file) });
      await recognizer.predictSamples(new Float32Array(info.featureConfig.sampleRate).fill(0.001), info.featureConfig.sampleRate);
      await recognizer.dispose();
      const detail = `${info.modelType} ${info.precision}, ${(bytes.length / 1024).toFixed(1)} KiB, labels ${info.labels.length}, runs${expected ? ', sha256 matches card' : ''}`;
      const saturates = int8RangeWarning(file, info.int8WeightPeak) !== null;
      return saturates ? { status: 'warn', detail: `${detail}; 8-bit weights up to ${info.int8WeightPeak}, which this CPU's int8 kernels saturate on: quantize it again` } : { status: 'ok', detail };
    }));
  }

  checks.push(await attempt('data', async () => {
    const data = await import('../../data/index.js');
    const { found, failures } = data.findLocalFsdd();
    if (!found) {
      const looked = failures.map((f) => `${f.source}: ${f.reason}`).join('; ');
      return { status: 'warn', detail: `FSDD not found (${looked}) — only training and eval need it (\`digits data fetch\`)` };
    }
    const { recordings, clips, kind } = found;
    const from = kind === 'env' ? ` (from $${data.DATA_ENV})` : kind === 'cache' ? ' (the cache)' : '';
    // Recordings of one's own (other speakers, or copied in by `data fetch --data`) are complete as they are.
    const copiedFrom = kind === 'cache' ? data.readProvenance(found.dir) : null;
    const own = copiedFrom?.source === 'local folder' || !data.isFsdd(clips);
    if (own) return { status: 'ok', detail: `${clips.length} clip${clips.length === 1 ? '' : 's'} in ${recordings}${from}${copiedFrom?.source === 'local folder' ? `, copied from ${copiedFrom.url}` : ''}` };
    const complete = clips.length >= 3000;
    const refetch = kind === 'cache' ? '`digits data fetch --force` downloads it again' : '`digits data fetch` downloads it into the cache';
    return { status: complete ? 'ok' : 'warn', detail: `${clips.length} FSDD clips in ${recordings}${from}${complete ? '' : ` (the full set has 3000: ${refetch})`}` };
  }));
  // Only training and eval need the dataset: an unreadable folder is a warning, not a broken install.
  const data = checks[checks.length - 1];
  if (data.status === 'fail') data.status = 'warn';
  return checks;
}

/** The sha256 a model card records for a model file, if any (card: <stem>.card.json, files[name].sha256). */
async function expectedHash(modelPath: string, readFile: (p: string, e: 'utf8') => Promise<string>): Promise<string | null> {
  const name = modelPath.split('/').pop()!;
  const stem = name.replace(/(\.int8)?\.onnx$/, '');
  try {
    const card = JSON.parse(await readFile(modelPath.replace(name, `${stem}.card.json`), 'utf8'));
    return card?.files?.[name]?.sha256 ?? null;
  } catch {
    return null;
  }
}
