import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Whether ONNX Runtime's int8 kernels give other answers on this CPU for weights past the reduced range.
 *
 * On x86 CPUs with AVX2 (or AVX-512) but without VNNI, onnxruntime multiplies uint8 activations by
 * int8 weights with VPMADDUBSW, which adds each two products into a 16-bit sum that saturates:
 * 2 x 255 x 127 overflows it, 2 x 255 x 64 does not. `digits quantize` writes 8-bit weights in
 * -63..63 for that reason (QuantizeOptions.reduceRange); a file quantized at the full range (by an
 * older version, or with --no-reduce-range) answers otherwise here than where it was measured.
 */

/** The largest 8-bit weight magnitude whose pairs of products fit a 16-bit sum (2 x 255 x 64 <= 32767). */
export const SATURATION_FREE_INT8_PEAK = 64;

/**
 * true: this CPU's int8 kernels saturate (x86 with AVX2 or AVX512BW, without AVX512_VNNI or AVX_VNNI);
 * false: they do not (VNNI, an x86 CPU with neither AVX2 nor AVX512BW, or arm64); null: unknown
 * (an x86 CPU whose flags cannot be read, e.g. on Windows, or another architecture).
 * `flags`: the CPU's feature flags as cpuFlags gives them (this machine's when not given; null when unknown).
 */
export function int8SumsSaturate(arch: string = process.arch, flags: ReadonlySet<string> | null = readCpuFlags()): boolean | null {
  if (arch === 'arm64') return false;
  if (arch !== 'x64' && arch !== 'ia32') return null;
  if (flags === null) return null;
  if (flags.has('avx512vnni') || flags.has('avxvnni')) return false;
  return flags.has('avx2') || flags.has('avx512bw');
}

/**
 * The feature flags in a CPU's self-description, lower case and without '_' or '-' (Linux's
 * avx512_vnni and macOS's AVX512VNNI alike: avx512vnni); null when the text holds none.
 * 'cpuinfo': the text of Linux's /proc/cpuinfo (its first `flags` line); 'sysctl': the output of
 * macOS's `sysctl -n machdep.cpu.features machdep.cpu.leaf7_features` (every word).
 */
export function cpuFlags(text: string | null, format: 'cpuinfo' | 'sysctl'): Set<string> | null {
  const words = format === 'cpuinfo' ? text?.match(/^flags\s*:(.*)$/m)?.[1] : text;
  const flags = new Set((words ?? '').trim().split(/\s+/).filter(Boolean).map((f) => f.toLowerCase().replace(/[_-]/g, '')));
  return flags.size > 0 ? flags : null;
}

let thisCpu: boolean | null | undefined;
/** int8SumsSaturate() for this machine, read once. */
export function thisCpuSaturates(): boolean | null {
  if (thisCpu === undefined) thisCpu = int8SumsSaturate();
  return thisCpu;
}

/** This machine's CPU flags: /proc/cpuinfo on Linux, sysctl on macOS; null elsewhere or when they cannot be read. */
function readCpuFlags(): Set<string> | null {
  try {
    if (process.platform === 'linux' || process.platform === 'android') return cpuFlags(readFileSync('/proc/cpuinfo', 'utf8'), 'cpuinfo');
    if (process.platform === 'darwin') return cpuFlags(sysctlOutput(['machdep.cpu.features', 'machdep.cpu.leaf7_features']), 'sysctl');
  } catch {
    // Unreadable: not known.
  }
  return null;
}

/**
 * What macOS's sysctl prints for `keys` (null when it cannot run). It exits non-zero when one key is
 * unknown (an older CPU without leaf 7) after printing the others: those are kept.
 */
function sysctlOutput(keys: string[]): string | null {
  try {
    return execFileSync('/usr/sbin/sysctl', ['-n', ...keys], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    const out = (err as { stdout?: unknown }).stdout;
    return typeof out === 'string' && out.trim() !== '' ? out : null;
  }
}

/**
 * A warning for a model file whose 8-bit weights reach past SATURATION_FREE_INT8_PEAK on a CPU whose
 * int8 kernels saturate (null when there is nothing to say). `peak`: ModelMetadata.int8WeightPeak;
 * `saturates`: int8SumsSaturate's answer (this machine's when not given; read only for such a peak).
 */
export function int8RangeWarning(source: string, peak: number, saturates?: boolean | null): string | null {
  if (peak <= SATURATION_FREE_INT8_PEAK || (saturates === undefined ? thisCpuSaturates() : saturates) !== true) return null;
  return (
    `${source} has 8-bit weights up to ${peak}: on this CPU (x86 without VNNI) ONNX Runtime's int8 kernels saturate ` +
    `on them and can answer otherwise than the model was measured to. Quantize its fp32 model again with \`digits quantize\` ` +
    `(8-bit weights in -${SATURATION_FREE_INT8_PEAK - 1}..${SATURATION_FREE_INT8_PEAK - 1} by default), or use the fp32 file`
  );
}
