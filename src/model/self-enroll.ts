import { topLabels } from './decision.js';
import { NOT_A_DIGIT_LABEL } from './metadata.js';
import { personalizeModel, type EnrollmentRuntime, type LabelledPcm, type PcmClip } from './personalize.js';
import { parseModelMetadata } from './read-metadata.js';

/**
 * Enrollment without labels: the model's last layers refitted (as `enrollSpeaker` refits them) on
 * the speaker's clips, each labelled with the digit the model itself hears in it. After the
 * normalization is adapted to the speaker (NormAdapter), most of those answers are right, and a
 * refit on them moves the digits' boundaries toward this voice, so the few clips near a boundary
 * that it got wrong go the way their neighbours went (self-training, e.g. Lee 2013's pseudo-labels).
 * Clips heard as "not a digit" are left out. Returns null when the answers do not name every digit
 * 0-9 at least once: a refit that never sees a digit learns to avoid it. No Node imports: the web
 * library can bundle it.
 */
export async function selfEnroll(model: Uint8Array, source: string, clips: readonly PcmClip[], runtime: EnrollmentRuntime, voiceShift: number): Promise<Uint8Array | null> {
  const { labels } = parseModelMetadata(model, source);
  const probabilities = await runtime.probabilities(model, clips, voiceShift);
  const labelled: LabelledPcm[] = [];
  probabilities.forEach((p, i) => {
    const [{ label }] = topLabels(p, labels, 1);
    if (label !== NOT_A_DIGIT_LABEL) labelled.push({ ...clips[i], digit: Number(label) });
  });
  if (new Set(labelled.map((c) => c.digit)).size < 10) return null;
  return (await personalizeModel(model, source, labelled, runtime, { voiceShift, crossCheck: false })).model;
}
