export { listFsddClips, parseFsddName, type FsddClip } from './clips.js';
export { officialSplit, leaveSpeakersOut, validationSplit, speakersOf, type Split, type ValidationOptions } from './splits.js';
export {
  defaultCacheDir,
  findLocalFsdd,
  localCandidates,
  recordingsDir,
  loadClip,
  loadClips,
  DATA_ENV,
  type LocalOptions,
  type LocalSource,
  type FoundLocal,
  type SourceFailure,
  type ClipLoadOptions,
  type LoadedClip,
} from './local.js';
export { loadFsdd, type FsddOptions, type FsddDataset } from './fsdd.js';
