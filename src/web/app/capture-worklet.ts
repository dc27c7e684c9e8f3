// AudioWorklet: runs on the audio rendering thread. It only batches the 128-frame render quanta into
// ~20 ms blocks and hands them to the page; all analysis happens in the DSP core on the main thread.
declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

class CaptureProcessor extends AudioWorkletProcessor {
  // Kept apart from the array: a transferred array reports length 0.
  private readonly size = Math.max(128, Math.round(sampleRate / 50 / 128) * 128);
  private block = new Float32Array(this.size);
  private filled = 0;

  process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const first = channels[0];
    const n = first.length;
    for (let i = 0; i < n; i++) {
      // Mono downmix: mics may deliver 2 identical or near-identical channels.
      let v = 0;
      for (let c = 0; c < channels.length; c++) v += channels[c][i];
      this.block[this.filled++] = v / channels.length;
      if (this.filled === this.size) {
        this.port.postMessage(this.block, [this.block.buffer]);
        this.block = new Float32Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('sd-capture', CaptureProcessor);
