export { listFsddClips, parseFsddName, describeUnread, isFsdd, FSDD_SPEAKERS, type FsddClip } from './clips.js';
export { officialSplit, randomSplit, leaveSpeakersOut, leaveOneSpeakerOutFolds, validationSplit, speakersOf, type Split, type ValidationOptions } from './splits.js';
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
export { loadFsdd, fetchFsdd, describeFailures, type FsddOptions, type FsddDataset } from './fsdd.js';
export {
  verifyRecordings,
  readProvenance,
  DEFAULT_ARCHIVE_URL,
  DEFAULT_HF_API,
  DEFAULT_HF_DATASETS,
  FSDD_CLIP_COUNT,
  type Provenance,
  type RemoteOptions,
} from './sources.js';
export { downloadFile, type DownloadOptions, type DownloadResult } from './download.js';
export { datasetInfo, type DatasetInfo } from './info.js';
