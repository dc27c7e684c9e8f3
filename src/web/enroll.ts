import { MODEL_OUTPUT_NAME } from '../model/metadata.js';
import { checkClipsHeard, countDigits, type Enrollment, type EnrollmentRuntime, type LabelledPcm, type PersonalizeOptions, personalizeModel, refitSettings } from '../model/personalize.js';
import { featureBackend, fetchModel, streamCore, WebRecognizer } from './recognizer.js';

export interface WebEnrollOptions extends PersonalizeOptions {
  /** The model to personalize: a URL to fetch (e.g. the page's copy of `models/default.int8.onnx`) or its bytes. */
  model: string | URL | Uint8Array | ArrayBuffer;
}

/**
 * Speaker enrollment in the browser, as `enrollSpeaker` of the Node library and `digits enroll` do
 * it: the last layer of each classifier head refitted on labelled clips of one speaker (decoded PCM,
 * any rate, e.g. the pieces a WebListener heard while they counted "zero" to "nine"), run by
 * onnxruntime-web in the page. Resolves to the personal model's bytes (load them with
 * `WebRecognizer.load`, or offer them as a download) and the fit. Refuses bad input with
 * EnrollmentError, a model it cannot personalize with ModelError. Needs no 'unsafe-eval' (the ONNX
 * codec is static code, src/train/onnx/onnx-codec.js).
 */
export async function enrollSpeaker(clips: readonly LabelledPcm[], options: WebEnrollOptions): Promise<Enrollment> {
  refitSettings(options);
  countDigits(clips);
  const model = options?.model;
  const bytesGiven = model instanceof Uint8Array || model instanceof ArrayBuffer;
  const source = bytesGiven ? '(model bytes)' : String(model);
  const [core, backend] = await Promise.all([streamCore(), featureBackend()]);
  checkClipsHeard(clips, [], core, backend);
  const bytes = bytesGiven ? new Uint8Array(model) : await fetchModel(source);
  return personalizeModel(bytes, source, clips, webRuntime, options);
}

/** Models run by onnxruntime-web through WebRecognizer, as the page runs them. */
export const webRuntime: EnrollmentRuntime = {
  async probe(model, names, clips, voiceShift) {
    const { withGraphOutputs } = await import('../train/onnx/graph.js');
    const recognizer = await WebRecognizer.load(withGraphOutputs(model, names));
    try {
      return await recognizer.graphOutputs(
        clips.map((c) => ({ ...c, shift: voiceShift })),
        [MODEL_OUTPUT_NAME, ...names],
      );
    } finally {
      await recognizer.dispose();
    }
  },
  async probabilities(model, clips, voiceShift) {
    const recognizer = await WebRecognizer.load(model);
    try {
      return (await recognizer.recognizePieces(
        clips.map((c) => ({ ...c, shift: voiceShift })),
        0,
      )).map((r) => r.probabilities);
    } finally {
      await recognizer.dispose();
    }
  },
};
