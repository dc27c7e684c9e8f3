import type { BackendChoice } from '../features/index.js';
import { checkClipsHeard, countDigits, type Enrollment, type EnrollmentRuntime, type PersonalizeOptions, personalizeModel, refitSettings } from './personalize.js';
import { type AudioInput, DigitRecognizer, decodeAudioInput, readModelBytes } from './recognizer.js';
import { loadStreamCore } from '../stream/core.js';
import { loadFeatureBackend } from '../features/index.js';

export { refitHead, type Enrollment, type EnrollmentRecord, type EnrollmentScore } from './personalize.js';

/** One labelled recording of the speaker: the digit they said. */
export interface EnrollmentClip {
  input: AudioInput;
  digit: number;
}

export interface EnrollOptions extends PersonalizeOptions {
  /** The model to personalize (path or bytes); the shipped default when omitted. */
  model?: string | Uint8Array;
  backend?: BackendChoice;
}

/**
 * Personalizes a model to one speaker from labelled recordings of them ("say zero to nine", once or
 * a few times): each classifier head's last layer (the Gemm over the member's pooled embedding) is
 * refitted by softmax cross-entropy on the clips' embeddings plus `l2` times the squared distance to
 * the trained weights, moving the digits against each other and leaving the "none" class as trained
 * (refitHead's fixedClass); everything before the last layer is unchanged. On FSDD speakers a model
 * never heard, one clip per digit took the shipped recipe's fused pairs from 91.9% to 96.0% of the
 * speaker's other clips (docs/adaptation-record.md, "Speaker enrollment"), because a stranger's errors are mostly one or
 * two confusions made every time, which ten labelled clips correct. The result is a model file with the base's metadata, its rejection threshold, and an
 * `spoken_digits.enrollment` record; load it like any model.
 */
export async function enrollSpeaker(clips: readonly EnrollmentClip[], options: EnrollOptions = {}): Promise<Enrollment> {
  refitSettings(options);
  countDigits(clips);
  const { bytes, source } = await readModelBytes(options.model);
  const decoded = [];
  for (const c of clips) decoded.push({ ...(await decodeAudioInput(c.input)), digit: c.digit });
  const prefer = options.backend === 'auto' ? undefined : options.backend;
  const [core, backend] = await Promise.all([loadStreamCore(prefer), loadFeatureBackend({ backend: prefer })]);
  checkClipsHeard(decoded, clips.map((c, i) => (typeof c.input === 'string' ? c.input : `clip ${i}`)), core, backend);
  return personalizeModel(bytes, source, decoded, nodeRuntime(options.backend), options);
}

/** Models run by onnxruntime-node through DigitRecognizer, as `digits predict` runs them. */
function nodeRuntime(backend: BackendChoice | undefined): EnrollmentRuntime {
  return {
    probe: async (model, names, clips, voiceShift) => {
      const { probeModel } = await import('../train/onnx/probe.js');
      return probeModel(model, names, clips, { backend, voiceShift });
    },
    probabilities: async (model, clips, voiceShift) => {
      const recognizer = await DigitRecognizer.load({ model, backend, voiceShift });
      try {
        return (await recognizer.predictBatch(clips)).map((p) => p.probabilities);
      } finally {
        await recognizer.dispose();
      }
    },
  };
}
