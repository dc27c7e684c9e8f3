/** The last few seconds of microphone audio, addressed by absolute sample index (as the VAD reports it). */
export class AudioRing {
  private readonly buf: Float32Array;
  /** Samples written since the start (absolute index of the next sample). */
  total = 0;

  constructor(capacity: number) {
    this.buf = new Float32Array(capacity);
  }

  get capacity(): number {
    return this.buf.length;
  }

  push(samples: Float32Array): void {
    const cap = this.buf.length;
    let src = samples;
    if (src.length > cap) src = src.subarray(src.length - cap);
    const at = this.total % cap;
    const first = Math.min(src.length, cap - at);
    this.buf.set(src.subarray(0, first), at);
    if (first < src.length) this.buf.set(src.subarray(first), 0);
    this.total += samples.length;
  }

  /** Copy of [start, end) in absolute samples, clamped to what is still held. */
  slice(start: number, end: number): Float32Array {
    const cap = this.buf.length;
    const lo = Math.max(start, this.total - cap, 0);
    const hi = Math.min(end, this.total);
    if (hi <= lo) return new Float32Array(0);
    const out = new Float32Array(hi - lo);
    for (let i = 0, k = lo % cap; i < out.length; i++, k = k + 1 === cap ? 0 : k + 1) out[i] = this.buf[k];
    return out;
  }

  reset(): void {
    this.total = 0;
  }
}
