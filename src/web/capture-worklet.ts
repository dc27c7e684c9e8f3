/** The name the capture processor registers under. */
export const CAPTURE_PROCESSOR = 'sd-capture';

/**
 * The AudioWorklet module of `Microphone`, as text. It runs on the audio rendering thread and only
 * batches the 128-frame render quanta into ~20 ms mono blocks for the page; all analysis happens in
 * the DSP core on the main thread. Text, so the library can load it from a Blob URL with no help from
 * the embedder's bundler, and the kiosk's build can write it out as its own file (the kiosk's CSP
 * allows scripts from 'self' only; a page with such a policy passes `workletUrl` the same way).
 */
export const CAPTURE_WORKLET_SOURCE = `class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // Kept apart from the array: a transferred array reports length 0.
    this.size = Math.max(128, Math.round(sampleRate / 50 / 128) * 128);
    this.block = new Float32Array(this.size);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const n = channels[0].length;
    for (let i = 0; i < n; i++) {
      // Mono downmix: microphones may deliver two identical or near-identical channels.
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

registerProcessor(${JSON.stringify(CAPTURE_PROCESSOR)}, CaptureProcessor);
`;
