/**
 * ONNX Runtime for Node, with Microsoft's telemetry switched off unless the environment asks for it.
 *
 * Since 1.29, the official Linux and macOS builds of ONNX Runtime collect usage events (sessions,
 * models, errors, timings) for upload to Microsoft, with a persistent device id and an event queue
 * under `$XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime`. A recognizer that runs on the
 * user's own machine must not report on them. With `ORT_DISABLE_TELEMETRY=1` the runtime creates
 * no uploader, device id or queue (its pull request 27379 says so; test/ort-telemetry.test.ts
 * checks that nothing is written). The runtime reads it when its environment is created, at the
 * first InferenceSession, so setting it here, when this module loads, is in time. A value already
 * set wins (`ORT_DISABLE_TELEMETRY=0` opts in). It is the process's environment: it also covers the
 * host's own use of ONNX Runtime, and child processes inherit it. Every part of the project that
 * runs ONNX Runtime imports it from this module, never from 'onnxruntime-node' directly.
 *
 * One named namespace, not `export * from 'onnxruntime-node'`: the bundler cannot see a CommonJS
 * package's names through `export *`, and the built files then read its members as undefined.
 */
import * as ort from 'onnxruntime-node';

export { ort };

export const TELEMETRY_ENV = 'ORT_DISABLE_TELEMETRY';

process.env[TELEMETRY_ENV] ??= '1';

/** Whether ONNX Runtime's telemetry is off in this process (the env variable as the runtime reads it). */
export function telemetryDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on|y)$/i.test(env[TELEMETRY_ENV]?.trim() ?? '');
}
