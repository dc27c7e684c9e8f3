export { Listener } from './listener.js';
export type {
  ListenerOptions,
  ListenerEvent,
  ListenerEvents,
  DigitEvent,
  RejectedEvent,
  StringEvent,
  LevelEvent,
  OverflowEvent,
  VoiceShiftEvent,
  NormAdaptEvent,
  NormAdaptFailedEvent,
  SpeechStartEvent,
  SpeechEndEvent,
  EndEvent,
} from './listener.js';
export { StreamDecoder } from './decoder.js';
export { VoiceObserver } from './voice-observer.js';
export { NormObserver } from './norm-observer.js';
export type { DecoderOptions, DecoderEvents, DecoderSink } from './decoder.js';
export { openFileSource, openReadableSource, openMicrophone, listInputDevices } from './sources.js';
export type { AudioSource, FileSourceOptions, RawPcmOptions, MicrophoneOptions } from './sources.js';
export { loadStreamCore } from './core.js';
export type { StreamCore, VadOptions, VadEvent, VadHandle, VadState, Valley, CaptureDevice, CaptureStats } from './core.js';
export { splitSegment } from './segmenter.js';
export type { SegmentClassifier, SegmentPrediction, SplitOptions, Piece } from './segmenter.js';
export { recordCounting } from './counting.js';
export type { CountedPiece, CountingOptions } from './counting.js';
