// Streaming voice-activity detector and endpointer.
//
// Per 10 ms hop it measures the 300-3400 Hz band energy and the spectral flatness of that band,
// compares the energy with an adaptive noise floor, and runs a small state machine (onset, hangover,
// minimum and maximum utterance length) that emits segment start/end events with absolute sample
// positions. Blocks of any size can be fed; results do not depend on how the stream is cut.
// Knows nothing of Node, PortAudio or the browser: the addon and the wasm build wrap it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spoken_digits {

struct VadConfig {
  int sampleRate = 8000;
  // 0 = only loud, clearly voiced speech opens a segment; 1 = anything a little above the noise.
  float sensitivity = 0.5f;
  float hopMs = 10.f;
  float windowMs = 32.f;  // rounded up to a power-of-two number of samples
  float bandLowHz = 300.f;
  float bandHighHz = 3400.f;
  float onsetMs = 30.f;      // speech needed before a segment opens
  float hangoverMs = 120.f;  // non-speech needed before a segment closes (FSDD strings: 120 beat 150 and 100)
  float minSpeechMs = 100.f;  // shorter segments are aborted (clicks, bumps)
  float maxSpeechMs = 4000.f;  // longer ones are cut (and the noise floor re-estimated)
  float minVoicedMs = 40.f;  // a segment needs this much harmonic (low-flatness) sound: noise bursts have none
  float preRollMs = 120.f;   // reported start is moved this much earlier (weak onsets, the window's lag)
  float postRollMs = 60.f;   // reported end is moved this much later (weak word endings)
  float minLevelDb = -65.f;  // band energy (dBFS) under which nothing is speech, so dither never triggers
  float initialNoiseDb = -60.f;  // noise floor assumed before any audio was seen
};

// Empty when the config is usable, else what is wrong with it.
std::string validateVadConfig(const VadConfig& config);

enum class VadEventType : int32_t { Start = 0, End = 1, Abort = 2 };
enum class VadEndReason : int32_t { None = 0, Silence = 1, MaxLength = 2, Flush = 3, TooShort = 4, Unvoiced = 5, Tonal = 6 };

struct VadEvent {
  VadEventType type;
  VadEndReason reason;
  int64_t startSample;  // first sample of the segment (pre-roll included)
  int64_t endSample;    // one past its last sample (post-roll included); for Start: where the onset was confirmed
};

class BandAnalyzer;  // vad.cpp: band energy + flatness of one frame

class Vad {
 public:
  // nullptr and *error set when the config is invalid.
  static Vad* create(const VadConfig& config, std::string* error);
  ~Vad();
  Vad(const Vad&) = delete;
  Vad& operator=(const Vad&) = delete;

  // Consumes n samples (any n, including 0). Events found are appended to `events`; returns how many.
  size_t process(const float* samples, size_t n, std::vector<VadEvent>& events);
  // End of stream: closes an open segment (End with reason Flush, or Abort if too short).
  size_t flush(std::vector<VadEvent>& events);
  void reset();

  const VadConfig& config() const { return config_; }
  int64_t samplesSeen() const { return samplesSeen_; }
  bool inSpeech() const { return state_ != State::Silence; }
  // Whether the open segment, were it to end now, would be kept (End) rather than aborted as too
  // short, unvoiced or tonal. Lets a caller act on speech before the segment ends.
  bool segmentAccepted() const { return state_ == State::Speech && abortReason(lastSpeechHop_ - runStartHop_ + 1) == VadEndReason::None; }
  // Samples since the last speech hop of the open segment ended (0 outside a segment).
  int64_t silentSamples() const { return state_ == State::Speech ? hopIndex_ * hop_ - (lastSpeechHop_ + 1) * hop_ : 0; }
  float noiseFloorDb() const { return noiseDb_; }
  // Loudest hop (full-band RMS, dBFS) since the last call to takePeakLevelDb, for level meters.
  float takePeakLevelDb();
  float lastBandDb() const { return lastBandDb_; }
  float lastFlatness() const { return lastFlatness_; }

 private:
  explicit Vad(const VadConfig& config);
  void analyzeHop(std::vector<VadEvent>& events, size_t& count);
  void closeSegment(VadEndReason reason, std::vector<VadEvent>& events, size_t& count);
  // Why a segment of this many hops (and the run's voicing counts) is aborted; None if it is kept.
  VadEndReason abortReason(int64_t lengthHops) const;
  void updateNoiseFloor(float bandDb, bool speech);

  enum class State { Silence, Onset, Speech };

  VadConfig config_;
  int hop_ = 0, win_ = 0, nfft_ = 0, binLo_ = 0, binHi_ = 0;
  int onsetHops_ = 0, hangoverHops_ = 0, minSpeechHops_ = 0, maxSpeechHops_ = 0, minVoicedHops_ = 0;
  int preRoll_ = 0, postRoll_ = 0;
  float onsetDb_ = 0, holdDb_ = 0, voicedFlatness_ = 0;

  BandAnalyzer* analyzer_ = nullptr;
  std::vector<float> history_;  // the last `win_` samples, oldest first
  int historyFill_ = 0;  // samples written into the current hop
  int64_t samplesSeen_ = 0;
  int64_t hopIndex_ = 0;  // index of the next hop to analyze

  State state_ = State::Silence;
  int64_t runStartHop_ = 0;   // first speech hop of the current run / segment
  int64_t lastSpeechHop_ = 0;
  int runVoiced_ = 0;
  int runStationary_ = 0;  // voiced hops whose spectrum did not change (tones, held notes)
  int64_t lastEndSample_ = 0;
  std::vector<float> segmentBandDb_;  // per-hop band energy of the open segment, for re-estimating the floor

  float noiseDb_ = -60.f;
  // Band energy under which a hop is digital silence, not a room (a 16-bit recording's quietest room
  // is well above it): it neither lowers the noise floor nor enters the minimum statistics.
  static constexpr float kNoSignalDb = -90.f;
  // Minimum statistics over ~1.5 s (6 blocks), so a lasting rise of the noise is followed even
  // while everything looks like speech.
  static constexpr int kMinBlocks = 6;
  float blockMin_[kMinBlocks] = {};
  int blockIdx_ = 0, blockFill_ = 0, blockHops_ = 25, blocksFull_ = 0;

  float peakLevelDb_ = -120.f;
  float lastBandDb_ = -120.f, lastFlatness_ = 1.f;
};

// The rates the contour functions below take (as the endpointer does); at any other they find
// nothing (no hops, no valleys, no extent), as they do for a NaN or negative argument. Infinite
// limits are no limit (a margin never wider than the segment).
constexpr int kMinContourRate = 4000, kMaxContourRate = 192000;

// Candidate cut points inside one segment: energy valleys of the 300-3400 Hz band (10 ms hops,
// smoothed) at least `minDepthDb` below the highest energy on both sides and at least
// `minPieceMs` from the ends and from each other. Positions are sample offsets into `samples`,
// at the centre of the low stretch. Used to split segments that hold several digits.
struct Valley {
  int64_t sample;
  float depthDb;
  float lowMs;  // how long the energy stays within 3 dB of the valley bottom
};
std::vector<Valley> findEnergyValleys(const float* samples, size_t n, int sampleRate, float minDepthDb, float minPieceMs);

// The same valleys found in a band contour already computed (bandContourHops from hop 0 of the
// same samples): a stream that looks at its growing open audio at every hop keeps the contour and
// adds only the new hops, instead of analysing all of the audio again.
std::vector<Valley> findContourValleys(const float* bandDb, int hops, int sampleRate, float minDepthDb, float minPieceMs);

// Band energy (dB, 300-3400 Hz) of the 10 ms hops [firstHop, n / hop) of `samples` (hop =
// sampleRate / 100), frame k a 32 ms window centred on k * hop + hop / 2, zero outside the samples;
// writes n / hop - firstHop values to `out`. Returns the first hop whose frame reaches past the end:
// it and the hops after it change when samples are appended; those before it never do.
int bandContourHops(const float* samples, size_t n, int sampleRate, int firstHop, float* out);
// n / hop: how many hops bandContourHops analyses in `n` samples (0 at a rate it does not take;
// at most INT_MAX).
int contourHopCount(size_t n, int sampleRate);

// Where the speech in a segment starts and ends: the first and last 10 ms hop whose band energy is
// within `dropDb` of the segment's peak and 6 dB above its quietest tenth, widened by `marginMs`.
// Classifiers trained on tightly trimmed clips (FSDD) lose accuracy on the endpointer's generous
// pre/post-roll; this trims it. With `keepWithinDb` > 0, hops that close to the peak always count
// as speech: in loud noise (babble) the quietest tenth is the noise itself, and "6 dB above it"
// cuts into the words (FSDD test clips in 5 dB babble: 86% right whole, 73% cut without the limit,
// 86% with 20 dB). Whole clips are cut with it; the stream segmenter's pieces (tuned without it)
// pass 0. False when nothing stands out (then keep the whole segment).
bool findSpeechExtent(const float* samples, size_t n, int sampleRate, float dropDb, float marginMs, float keepWithinDb, int64_t* start,
                      int64_t* end);

// findSpeechExtent of `n` samples whose raw band contour (bandContourHops from hop 0, n / hop values)
// is already known: the stream segmenter analyses a segment once for its valleys and its cut.
bool contourSpeechExtent(const float* bandDb, int hops, size_t n, int sampleRate, float dropDb, float marginMs, float keepWithinDb,
                         int64_t* start, int64_t* end);

}  // namespace spoken_digits
