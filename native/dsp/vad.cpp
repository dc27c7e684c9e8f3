#include "vad.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <memory>

#include "kiss_fftr.h"

namespace spoken_digits {

namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kFloorDb = -120.f;

int nextPow2(int v) {
  int p = 16;
  while (p < v) p <<= 1;
  return p;
}

float toDb(double meanSquare) { return meanSquare > 1e-12 ? static_cast<float>(10.0 * std::log10(meanSquare)) : kFloorDb; }

}  // namespace

// Band energy and flatness of one windowed frame. Shared by the streaming detector and the
// offline valley finder so both see the same numbers.
class BandAnalyzer {
 public:
  int rate, nfft, win, binLo, binHi;
  kiss_fftr_cfg cfg;
  std::vector<float> window;
  std::vector<kiss_fft_scalar> frame;  // kissfft is built with double samples (CMakeLists.txt)
  std::vector<kiss_fft_cpx> spectrum;
  std::vector<double> logSpec, prevLog;
  bool hasPrev = false;
  // Spectral change from the previous frame (dB, overall gain change removed, strong bins only).
  float flux = 0;
  double norm;

  BandAnalyzer(int sampleRate, int winLen, float lowHz, float highHz) : rate(sampleRate), nfft(nextPow2(winLen)), win(winLen) {
    cfg = kiss_fftr_alloc(nfft, 0, nullptr, nullptr);
    window.resize(win);
    double sumSq = 0;
    for (int i = 0; i < win; ++i) {
      window[i] = 0.5f - 0.5f * std::cos(2.f * kPi * static_cast<float>(i) / static_cast<float>(win));
      sumSq += static_cast<double>(window[i]) * window[i];
    }
    frame.assign(nfft, 0.f);
    spectrum.resize(nfft / 2 + 1);
    logSpec.resize(nfft / 2 + 1);
    prevLog.resize(nfft / 2 + 1);
    // Parseval: 2*sum|X|^2/nfft over one side equals sum((x*w)^2); dividing by sum(w^2) gives the
    // mean square of x in the band, so a full-scale sine reads about -3 dBFS.
    norm = 2.0 / (static_cast<double>(nfft) * sumSq);
    binLo = std::max(1, static_cast<int>(std::ceil(lowHz * nfft / sampleRate)));
    binHi = std::min(nfft / 2, static_cast<int>(std::floor(highHz * nfft / sampleRate)));
  }
  ~BandAnalyzer() { kiss_fftr_free(cfg); }

  // `samples` holds `win` samples. Flatness is measured after removing the spectral tilt (a
  // least-squares line through the log spectrum): coloured noise (pink, brown) is then as flat as
  // white noise, while harmonics and formants still stand out.
  void analyze(const float* samples, float* bandDb, float* flatness) {
    transform(samples);
    double sum = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    const int bins = binHi - binLo + 1;
    for (int k = binLo; k <= binHi; ++k) {
      const double p = power(k);
      sum += p;
      const double y = std::log(p + 1e-20), x = k - binLo;
      logSpec[k - binLo] = y;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    *bandDb = toDb(sum * norm);
    updateFlux(bins);
    if (sum * norm < 1e-12) {
      *flatness = 1.f;
      return;
    }
    const double den = bins * sxx - sx * sx;
    const double slope = den > 0 ? (bins * sxy - sx * sy) / den : 0;
    const double icpt = (sy - slope * sx) / bins;
    // Residuals have zero mean, so flatness = exp(mean r) / mean(exp r) = 1 / mean(exp r).
    double expSum = 0;
    for (int k = 0; k < bins; ++k) expSum += std::exp(logSpec[k] - (icpt + slope * k));
    *flatness = static_cast<float>(bins / expSum);
  }

  // The band energy (dBFS) of one frame alone, as analyze() reports it: what the offline contour
  // needs, without the per-bin logarithms of flatness and flux.
  float bandDbOnly(const float* samples) {
    transform(samples);
    double sum = 0;
    for (int k = binLo; k <= binHi; ++k) sum += power(k);
    return toDb(sum * norm);
  }

 private:
  void transform(const float* samples) {
    for (int i = 0; i < win; ++i) frame[i] = static_cast<kiss_fft_scalar>(samples[i] * window[i]);
    kiss_fftr(cfg, frame.data(), spectrum.data());
  }

  double power(int k) const {
    return static_cast<double>(spectrum[k].r) * spectrum[k].r + static_cast<double>(spectrum[k].i) * spectrum[k].i;
  }

  // Mean absolute change of the log spectrum over the bins within 30 dB of the frame's strongest,
  // after removing the mean change (a note decaying or a voice getting louder is no change of
  // shape). Speech moves (FSDD: 3-5 dB per 10 ms hop); synthesized tones and held notes do not
  // (< 0.2 dB).
  void updateFlux(int bins) {
    double mx = -1e300;
    for (int k = 0; k < bins; ++k) mx = std::max(mx, logSpec[k]);
    const double floorLn = mx - 6.907755;  // 30 dB in natural-log power units
    double meanDiff = 0;
    int n = 0;
    if (hasPrev) {
      for (int k = 0; k < bins; ++k)
        if (logSpec[k] > floorLn) {
          meanDiff += logSpec[k] - prevLog[k];
          ++n;
        }
    }
    if (n > 0) {
      meanDiff /= n;
      double f = 0;
      for (int k = 0; k < bins; ++k)
        if (logSpec[k] > floorLn) f += std::fabs(logSpec[k] - prevLog[k] - meanDiff);
      flux = static_cast<float>(4.342944819 * f / n);  // natural log of power -> dB
    } else {
      flux = 100.f;  // no previous frame: unknown, count as changing
    }
    std::copy(logSpec.begin(), logSpec.begin() + bins, prevLog.begin());
    hasPrev = true;
  }
};

// snprintf instead of ostringstream: iostreams would add ~200 KB to the wasm build.
std::string validateVadConfig(const VadConfig& c) {
  std::string err;
  auto add = [&](const char* fmt, double v) {
    char buf[160];
    std::snprintf(buf, sizeof buf, fmt, v);
    err += buf;
  };
  // Durations up to a minute: longer ones are mistakes, and would size the callers' buffers (and overflow hop counts).
  constexpr float kMaxMs = 60000.f;
  auto positive = [&](float v, const char* name) {
    if (!(v > 0 && v <= kMaxMs)) {
      err += name;
      add(" must be a positive number of ms up to 60000 (got %g); ", v);
    }
  };
  if (c.sampleRate < 4000 || c.sampleRate > 192000) add("sampleRate must be in 4000..192000 (got %g); ", c.sampleRate);
  if (!(c.sensitivity >= 0 && c.sensitivity <= 1)) add("sensitivity must be in 0..1 (got %g); ", c.sensitivity);
  positive(c.hopMs, "hopMs");
  positive(c.windowMs, "windowMs");
  positive(c.onsetMs, "onsetMs");
  positive(c.hangoverMs, "hangoverMs");
  positive(c.minSpeechMs, "minSpeechMs");
  positive(c.maxSpeechMs, "maxSpeechMs");
  if (!(c.minVoicedMs >= 0 && c.minVoicedMs <= kMaxMs)) err += "minVoicedMs must be from 0 to 60000; ";
  if (!(c.preRollMs >= 0 && c.preRollMs <= kMaxMs) || !(c.postRollMs >= 0 && c.postRollMs <= kMaxMs)) err += "preRollMs and postRollMs must be from 0 to 60000; ";
  if (!std::isfinite(c.minLevelDb) || !std::isfinite(c.initialNoiseDb)) err += "minLevelDb and initialNoiseDb must be finite; ";
  if (c.hopMs > c.windowMs) err += "hopMs must not exceed windowMs; ";
  if (c.maxSpeechMs < c.minSpeechMs) err += "maxSpeechMs must be >= minSpeechMs; ";
  if (c.postRollMs > c.hangoverMs) err += "postRollMs must not exceed hangoverMs; ";
  if (!(c.bandLowHz >= 0 && c.bandLowHz < c.bandHighHz)) err += "bandLowHz must be >= 0 and below bandHighHz; ";
  if (c.bandHighHz > c.sampleRate / 2.f) err += "bandHighHz is above the Nyquist frequency; ";
  if (static_cast<int>(c.sampleRate * c.hopMs / 1000.f) < 1) err += "hopMs is shorter than one sample; ";
  if (err.size() >= 2) err.resize(err.size() - 2);
  return err;
}

Vad* Vad::create(const VadConfig& config, std::string* error) {
  std::string e = validateVadConfig(config);
  if (!e.empty()) {
    if (error) *error = e;
    return nullptr;
  }
  return new Vad(config);
}

Vad::Vad(const VadConfig& c) : config_(c) {
  const float rate = static_cast<float>(c.sampleRate);
  hop_ = std::max(1, static_cast<int>(std::lround(rate * c.hopMs / 1000.f)));
  win_ = std::max(hop_, static_cast<int>(std::lround(rate * c.windowMs / 1000.f)));
  analyzer_ = new BandAnalyzer(c.sampleRate, win_, c.bandLowHz, c.bandHighHz);
  nfft_ = analyzer_->nfft;
  binLo_ = analyzer_->binLo;
  binHi_ = analyzer_->binHi;
  auto hops = [&](float ms) { return std::max(1, static_cast<int>(std::lround(ms / c.hopMs))); };
  onsetHops_ = hops(c.onsetMs);
  hangoverHops_ = hops(c.hangoverMs);
  minSpeechHops_ = hops(c.minSpeechMs);
  maxSpeechHops_ = hops(c.maxSpeechMs);
  minVoicedHops_ = c.minVoicedMs > 0 ? hops(c.minVoicedMs) : 0;
  preRoll_ = static_cast<int>(std::lround(rate * c.preRollMs / 1000.f));
  postRoll_ = static_cast<int>(std::lround(rate * c.postRollMs / 1000.f));
  // Sensitivity moves the SNR needed to open a segment from 16 dB (0) to 4 dB (1); once open, a
  // segment holds while the SNR stays above a lower threshold (hysteresis keeps weak word endings).
  onsetDb_ = 16.f - 12.f * c.sensitivity;
  holdDb_ = std::max(2.f, onsetDb_ - 5.f);
  voicedFlatness_ = 0.33f + 0.1f * c.sensitivity;
  blockHops_ = std::max(1, static_cast<int>(std::lround(250.f / c.hopMs)));
  history_.assign(win_, 0.f);
  segmentBandDb_.reserve(static_cast<size_t>(maxSpeechHops_) + 2);
  reset();
}

Vad::~Vad() { delete analyzer_; }

void Vad::reset() {
  std::fill(history_.begin(), history_.end(), 0.f);
  historyFill_ = 0;
  samplesSeen_ = 0;
  hopIndex_ = 0;
  state_ = State::Silence;
  runStartHop_ = lastSpeechHop_ = 0;
  runVoiced_ = runStationary_ = 0;
  analyzer_->hasPrev = false;
  lastEndSample_ = 0;
  segmentBandDb_.clear();
  noiseDb_ = config_.initialNoiseDb;
  std::fill(std::begin(blockMin_), std::end(blockMin_), 0.f);
  blockIdx_ = blockFill_ = blocksFull_ = 0;
  peakLevelDb_ = kFloorDb;
  lastBandDb_ = kFloorDb;
  lastFlatness_ = 1.f;
}

float Vad::takePeakLevelDb() {
  const float p = peakLevelDb_;
  peakLevelDb_ = kFloorDb;
  return p;
}

size_t Vad::process(const float* samples, size_t n, std::vector<VadEvent>& events) {
  size_t count = 0;
  const int tail = win_ - hop_;
  size_t i = 0;
  while (i < n) {
    const size_t take = std::min(n - i, static_cast<size_t>(hop_ - historyFill_));
    float* dst = history_.data() + tail + historyFill_;
    for (size_t j = 0; j < take; ++j) {
      const float v = samples[i + j];
      dst[j] = std::isfinite(v) ? v : 0.f;  // one NaN must not poison the noise floor forever
    }
    historyFill_ += static_cast<int>(take);
    samplesSeen_ += static_cast<int64_t>(take);
    i += take;
    if (historyFill_ == hop_) {
      analyzeHop(events, count);
      std::memmove(history_.data(), history_.data() + hop_, sizeof(float) * static_cast<size_t>(tail));
      historyFill_ = 0;
    }
  }
  return count;
}

void Vad::updateNoiseFloor(float bandDb, bool speech) {
  // Digital silence (a muted input, a gate, an edited file's gaps) says nothing about the room: were
  // the floor to follow it down, the faint background of the next utterance would read as speech
  // until the minimum statistics forgot the zeros (1.5 s), and the words after it would be cut wrong.
  if (bandDb < kNoSignalDb) return;
  if (bandDb < noiseDb_) {
    noiseDb_ += 0.3f * (bandDb - noiseDb_);
  } else if (!speech) {
    noiseDb_ += (config_.hopMs / 300.f) * (bandDb - noiseDb_);
  }
  noiseDb_ = std::max(noiseDb_, -100.f);
  // Minimum statistics: if even the quietest hop of the last ~1.5 s is above the floor, the noise
  // itself got louder (a fan, traffic); follow it instead of calling everything speech.
  // The first hops' windows still hold the zeros before the stream began: too quiet to count.
  if (hopIndex_ * hop_ < win_) return;
  if (blockFill_ == 0 || bandDb < blockMin_[blockIdx_]) blockMin_[blockIdx_] = bandDb;
  if (++blockFill_ == blockHops_) {
    blockFill_ = 0;
    blockIdx_ = (blockIdx_ + 1) % kMinBlocks;
    blocksFull_ = std::min(blocksFull_ + 1, kMinBlocks);
  }
  // Until 1.5 s were seen, the blocks seen so far stand in (so a stream that starts in loud noise
  // settles after 250 ms instead of calling the first 1.5 s speech).
  if (blocksFull_ > 0) {
    const int first = blocksFull_ == kMinBlocks ? 0 : (blockIdx_ - blocksFull_ + kMinBlocks) % kMinBlocks;
    float m = blockMin_[first];
    for (int b = 1; b < blocksFull_; ++b) m = std::min(m, blockMin_[(first + b) % kMinBlocks]);
    if (m > noiseDb_ + 1.f) noiseDb_ += 0.1f * (m - noiseDb_);
  }
}

void Vad::analyzeHop(std::vector<VadEvent>& events, size_t& count) {
  const int64_t hop = hopIndex_++;
  const float* cur = history_.data() + (win_ - hop_);
  double ms = 0;
  for (int j = 0; j < hop_; ++j) ms += static_cast<double>(cur[j]) * cur[j];
  peakLevelDb_ = std::max(peakLevelDb_, toDb(ms / hop_));

  float bandDb = 0, flatness = 1;
  analyzer_->analyze(history_.data(), &bandDb, &flatness);
  lastBandDb_ = bandDb;
  lastFlatness_ = flatness;

  const float snr = bandDb - noiseDb_;
  const float need = state_ == State::Speech ? holdDb_ : onsetDb_;
  const bool speech = bandDb > config_.minLevelDb && snr > need;
  const bool voiced = speech && flatness < voicedFlatness_;
  const bool stationary = voiced && analyzer_->flux < 1.f;
  updateNoiseFloor(bandDb, speech || state_ == State::Speech);

  switch (state_) {
    case State::Silence:
      if (!speech) break;
      state_ = State::Onset;
      runStartHop_ = lastSpeechHop_ = hop;
      runVoiced_ = voiced ? 1 : 0;
      runStationary_ = stationary ? 1 : 0;
      segmentBandDb_.clear();
      segmentBandDb_.push_back(bandDb);
      [[fallthrough]];
    case State::Onset:
      if (hop != runStartHop_) {
        if (!speech) {
          state_ = State::Silence;
          break;
        }
        lastSpeechHop_ = hop;
        runVoiced_ += voiced ? 1 : 0;
        runStationary_ += stationary ? 1 : 0;
        segmentBandDb_.push_back(bandDb);
      }
      if (hop - runStartHop_ + 1 >= onsetHops_) {
        state_ = State::Speech;
        const int64_t start = std::max(lastEndSample_, runStartHop_ * hop_ - preRoll_);
        events.push_back({VadEventType::Start, VadEndReason::None, std::max<int64_t>(0, start), samplesSeen_});
        ++count;
      }
      break;
    case State::Speech:
      if (segmentBandDb_.size() < segmentBandDb_.capacity()) segmentBandDb_.push_back(bandDb);
      if (speech) {
        lastSpeechHop_ = hop;
        runVoiced_ += voiced ? 1 : 0;
        runStationary_ += stationary ? 1 : 0;
      }
      if (hop - lastSpeechHop_ >= hangoverHops_) {
        closeSegment(VadEndReason::Silence, events, count);
      } else if (hop - runStartHop_ + 1 >= maxSpeechHops_) {
        lastSpeechHop_ = hop;
        closeSegment(VadEndReason::MaxLength, events, count);
      }
      break;
  }
}

void Vad::closeSegment(VadEndReason reason, std::vector<VadEvent>& events, size_t& count) {
  const int64_t start = std::max<int64_t>(0, std::max(lastEndSample_, runStartHop_ * hop_ - preRoll_));
  const int64_t end = std::min(samplesSeen_, (lastSpeechHop_ + 1) * hop_ + postRoll_);
  const int64_t lengthHops = lastSpeechHop_ - runStartHop_ + 1;
  state_ = State::Silence;
  if (reason == VadEndReason::MaxLength && !segmentBandDb_.empty()) {
    // A segment this long is more likely a louder background than speech: restart the floor at
    // the segment's quiet end (10th percentile).
    auto nth = segmentBandDb_.begin() + static_cast<std::ptrdiff_t>(segmentBandDb_.size() / 10);
    std::nth_element(segmentBandDb_.begin(), nth, segmentBandDb_.end());
    noiseDb_ = std::max(noiseDb_, *nth);
  }
  segmentBandDb_.clear();
  const VadEndReason abort = abortReason(lengthHops);
  if (abort != VadEndReason::None) {
    events.push_back({VadEventType::Abort, abort, start, end});
  } else {
    events.push_back({VadEventType::End, reason, start, end});
    lastEndSample_ = end;
  }
  ++count;
}

VadEndReason Vad::abortReason(int64_t lengthHops) const {
  if (lengthHops < minSpeechHops_) return VadEndReason::TooShort;
  if (runVoiced_ < minVoicedHops_) return VadEndReason::Unvoiced;
  // Mostly unchanging harmonic sound: a tone, a held note, a beep. Speech (FSDD) never has more
  // than a fifth of its voiced hops this still.
  if (2 * runStationary_ >= runVoiced_) return VadEndReason::Tonal;
  return VadEndReason::None;
}

size_t Vad::flush(std::vector<VadEvent>& events) {
  size_t count = 0;
  if (state_ == State::Speech) closeSegment(VadEndReason::Flush, events, count);
  state_ = State::Silence;
  return count;
}

namespace {

// The contour's analyzer for this rate, kept for the next call in the same thread: making one (FFT
// plan, window) took about as long as six hops here (a 0.4 s clip: 49 -> 42 us with it kept), and a
// stream looks at its open audio at every hop.
BandAnalyzer& contourAnalyzer(int sampleRate, int win) {
  thread_local std::unique_ptr<BandAnalyzer> cached;
  if (!cached || cached->rate != sampleRate || cached->win != win) {
    cached = std::make_unique<BandAnalyzer>(sampleRate, win, 300.f, std::min(3400.f, sampleRate / 2.f));
  }
  return *cached;
}

int contourHop(int sampleRate) { return std::max(1, sampleRate / 100); }
int contourWin(int sampleRate) { return static_cast<int>(std::lround(sampleRate * 0.032f)); }

// The raw contour smoothed over 3 hops.
void smoothContour(const float* e, int hops, std::vector<float>* smoothed) {
  auto& s = *smoothed;
  s.assign(static_cast<size_t>(std::max(hops, 0)), 0.f);
  for (int k = 0; k < hops; ++k) {
    const int a = std::max(0, k - 1), b = std::min(hops - 1, k + 1);
    float sum = 0;
    for (int j = a; j <= b; ++j) sum += e[j];
    s[k] = sum / static_cast<float>(b - a + 1);
  }
}

// Band energy (dB) of every 10 ms hop of the samples (bandContourHops from hop 0).
std::vector<float> rawContour(const float* samples, size_t n, int sampleRate) {
  std::vector<float> e(static_cast<size_t>(contourHopCount(n, sampleRate)));
  if (!e.empty()) bandContourHops(samples, n, sampleRate, 0, e.data());
  return e;
}

}  // namespace

namespace {
bool contourRateOk(int sampleRate) { return sampleRate >= kMinContourRate && sampleRate <= kMaxContourRate; }
}  // namespace

int contourHopCount(size_t n, int sampleRate) {
  if (!contourRateOk(sampleRate)) return 0;
  return static_cast<int>(std::min<size_t>(n / static_cast<size_t>(contourHop(sampleRate)), INT_MAX));
}

int bandContourHops(const float* samples, size_t n, int sampleRate, int firstHop, float* out) {
  if (!contourRateOk(sampleRate)) return 0;
  const int hop = contourHop(sampleRate);
  const int win = contourWin(sampleRate);
  const int hops = contourHopCount(n, sampleRate);
  firstHop = std::max(firstHop, 0);
  if (hops > firstHop) {
    BandAnalyzer& analyzer = contourAnalyzer(sampleRate, win);
    std::vector<float> frame(static_cast<size_t>(win));
    for (int k = firstHop; k < hops; ++k) {
      const int64_t first = static_cast<int64_t>(k) * hop + hop / 2 - win / 2;
      for (int j = 0; j < win; ++j) {
        const int64_t idx = first + j;
        frame[j] = (idx >= 0 && idx < static_cast<int64_t>(n)) ? samples[idx] : 0.f;
      }
      out[k - firstHop] = analyzer.bandDbOnly(frame.data());
    }
  }
  // Frame k ends (exclusive) at k * hop + reach.
  const int64_t reach = hop / 2 - win / 2 + win;
  const int64_t settled = static_cast<int64_t>(n) >= reach ? (static_cast<int64_t>(n) - reach) / hop + 1 : 0;
  return static_cast<int>(std::min<int64_t>(settled, hops));
}

bool findSpeechExtent(const float* samples, size_t n, int sampleRate, float dropDb, float marginMs, float keepWithinDb, int64_t* start,
                      int64_t* end) {
  if (!contourRateOk(sampleRate) || n == 0 || !samples) return false;
  const std::vector<float> e = rawContour(samples, n, sampleRate);
  return contourSpeechExtent(e.data(), static_cast<int>(e.size()), n, sampleRate, dropDb, marginMs, keepWithinDb, start, end);
}

bool contourSpeechExtent(const float* bandDb, int hops, size_t n, int sampleRate, float dropDb, float marginMs, float keepWithinDb,
                         int64_t* start, int64_t* end) {
  if (!contourRateOk(sampleRate) || n == 0 || !bandDb || hops <= 0 || hops != contourHopCount(n, sampleRate)) return false;
  // NaN finds nothing; an infinite drop, limit or margin is "no limit" (the margin at most the segment, below).
  if (std::isnan(dropDb) || std::isnan(keepWithinDb) || !(marginMs >= 0.f)) return false;
  std::vector<float> s;
  smoothContour(bandDb, hops, &s);
  const int hop = contourHop(sampleRate);
  std::vector<float> sorted(s);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 10), sorted.end());
  const float noise = sorted[sorted.size() / 10];
  const float peak = *std::max_element(s.begin(), s.end());
  // Above both the level `dropDb` under the peak and the segment's own background, the latter
  // never stricter than `keepWithinDb` under the peak when that is set (see vad.h).
  const float background = keepWithinDb > 0.f ? std::min(noise + 6.f, peak - keepWithinDb) : noise + 6.f;
  const float threshold = std::max(peak - dropDb, background);
  if (peak <= threshold) return false;
  size_t first = 0, last = s.size() - 1;
  while (first < s.size() && s[first] < threshold) ++first;
  while (last > first && s[last] < threshold) --last;
  // Never wider than the segment (a margin of 1e30 ms would overflow the sample positions).
  const int64_t margin = std::llround(std::min(static_cast<double>(marginMs) * sampleRate / 1000.0, static_cast<double>(n)));
  *start = std::max<int64_t>(0, static_cast<int64_t>(first) * hop - margin);
  *end = std::min<int64_t>(static_cast<int64_t>(n), static_cast<int64_t>(last + 1) * hop + margin);
  return true;
}

std::vector<Valley> findEnergyValleys(const float* samples, size_t n, int sampleRate, float minDepthDb, float minPieceMs) {
  if (!contourRateOk(sampleRate) || n == 0) return {};
  const std::vector<float> e = rawContour(samples, n, sampleRate);
  return findContourValleys(e.data(), static_cast<int>(e.size()), sampleRate, minDepthDb, minPieceMs);
}

std::vector<Valley> findContourValleys(const float* bandDb, int hopCount, int sampleRate, float minDepthDb, float minPieceMs) {
  std::vector<Valley> out;
  // NaN finds nothing; an infinite depth or piece length lets no valley through (Infinity turns the cut off).
  if (!contourRateOk(sampleRate) || hopCount <= 0 || !bandDb || std::isnan(minDepthDb) || !(minPieceMs >= 0.f)) return out;
  const float hopMs = 10.f;
  // Pieces longer than the contour leave no room for a valley (counted in double: 1e30 ms is no int).
  const double pieces = std::max(1.0, std::round(static_cast<double>(minPieceMs) / hopMs));
  if (2 * pieces + 1 > hopCount) return out;
  const int minPiece = static_cast<int>(pieces);
  const int hop = contourHop(sampleRate);
  std::vector<float> s;
  smoothContour(bandDb, hopCount, &s);
  const int hops = static_cast<int>(s.size());
  std::vector<float> leftMax(s.size()), rightMax(s.size());
  for (int k = 0; k < hops; ++k) leftMax[k] = k ? std::max(leftMax[k - 1], s[k]) : s[k];
  for (int k = hops - 1; k >= 0; --k) rightMax[k] = k < hops - 1 ? std::max(rightMax[k + 1], s[k]) : s[k];

  struct Candidate {
    int centre;
    float depth, lowMs;
  };
  std::vector<Candidate> cands;
  for (int k = minPiece; k < hops - minPiece; ++k) {
    if (s[k] > s[k - 1] || s[k] > s[k + 1]) continue;
    const float depth = std::min(leftMax[k], rightMax[k]) - s[k];
    if (depth < minDepthDb) continue;
    int l = k, r = k;
    while (l > 0 && s[l - 1] <= s[k] + 3.f) --l;
    while (r < hops - 1 && s[r + 1] <= s[k] + 3.f) ++r;
    const int centre = (l + r) / 2;
    if (centre < minPiece || centre > hops - minPiece) continue;
    cands.push_back({centre, depth, static_cast<float>(r - l + 1) * hopMs});
  }
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) { return a.depth > b.depth; });
  std::vector<Candidate> kept;
  for (const auto& c : cands) {
    bool farEnough = true;
    for (const auto& k : kept) farEnough = farEnough && std::abs(k.centre - c.centre) >= minPiece;
    if (farEnough) kept.push_back(c);
  }
  std::sort(kept.begin(), kept.end(), [](const Candidate& a, const Candidate& b) { return a.centre < b.centre; });
  for (const auto& c : kept) out.push_back({static_cast<int64_t>(c.centre) * hop + hop / 2, c.depth, c.lowMs});
  return out;
}

}  // namespace spoken_digits
