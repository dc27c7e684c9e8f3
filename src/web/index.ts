/**
 * spoken-digits in the browser (`import ... from 'spoken-digits/web'`): the kiosk's engine for
 * embedders. The wasm DSP core (features, endpointer) and onnxruntime-web run everything in the
 * page; nothing is sent anywhere. Bring a model file (the package's `models/default.int8.onnx`,
 * served with your page) and either a microphone or your own audio.
 */
export { WebRecognizer, featureBackend, streamCore, ort, type ClipInput, type Recognition, type PieceRecognition, type WebRecognizerOptions } from './recognizer.js';
export { WebListener, type WebListenerEvent, type WebListenerEvents, type WebListenerOptions, type OverflowEvent, type MicrophoneEvent, type PushOptions, type StartMicrophoneOptions } from './listener.js';
export { Microphone, type MicrophoneOptions, type MicState } from './microphone.js';
export { CAPTURE_PROCESSOR, CAPTURE_WORKLET_SOURCE } from './capture-worklet.js';
export { decodeWav } from '../audio/wav.js';
export type { DigitEvent, EndEvent, LevelEvent, RejectedEvent, SpeechEndEvent, SpeechStartEvent, StringEvent, DecoderOptions } from '../stream/decoder.js';
export type { SplitOptions } from '../stream/segmenter.js';
export type { VoiceShiftEvent } from '../stream/voice-observer.js';
export { VoiceAdapter, VOICE_SHIFTS, type VoiceAdapterOptions } from '../model/voice-adapt.js';
export { NormAdapter, type NormAdapterOptions } from '../model/norm-adapter.js';
export type { NormAdaptEvent, NormAdaptFailedEvent } from '../stream/norm-observer.js';
export { decide, type Decision } from '../model/decision.js';
export { enrollSpeaker, type WebEnrollOptions } from './enroll.js';
export type { Enrollment, EnrollmentRecord, EnrollmentScore, LabelledPcm, PersonalizeOptions } from '../model/personalize.js';
export * from '../errors.js';
