#include "vad_c.h"

#include <cmath>
#include <string>
#include <vector>

#include "vad.h"

using spoken_digits::Vad;
using spoken_digits::VadConfig;
using spoken_digits::VadEvent;

struct sd_vad {
  Vad* vad;
  std::vector<VadEvent> events;
};

namespace {

thread_local std::string lastError;

int copyEvents(sd_vad* h, size_t n, double* out, int maxEvents) {
  for (size_t i = 0; i < n && static_cast<int>(i) < maxEvents && out; ++i) {
    const VadEvent& e = h->events[i];
    out[4 * i + 0] = static_cast<double>(e.type);
    out[4 * i + 1] = static_cast<double>(e.reason);
    out[4 * i + 2] = static_cast<double>(e.startSample);
    out[4 * i + 3] = static_cast<double>(e.endSample);
  }
  h->events.clear();
  return static_cast<int>(n);
}

int writeValleys(const std::vector<spoken_digits::Valley>& valleys, double* out, int maxValleys) {
  for (size_t i = 0; i < valleys.size() && static_cast<int>(i) < maxValleys && out; ++i) {
    out[3 * i + 0] = static_cast<double>(valleys[i].sample);
    out[3 * i + 1] = valleys[i].depthDb;
    out[3 * i + 2] = valleys[i].lowMs;
  }
  return static_cast<int>(valleys.size());
}

}  // namespace

extern "C" {

sd_vad* sd_vad_create(int sampleRate, float sensitivity, float onsetMs, float hangoverMs, float minSpeechMs,
                      float maxSpeechMs, float minVoicedMs, float preRollMs, float postRollMs, float minLevelDb,
                      float initialNoiseDb) {
  VadConfig c;
  c.sampleRate = sampleRate;
  auto set = [](float* setting, float value) {
    if (!std::isnan(value)) *setting = value;
  };
  set(&c.sensitivity, sensitivity);
  set(&c.onsetMs, onsetMs);
  set(&c.hangoverMs, hangoverMs);
  set(&c.minSpeechMs, minSpeechMs);
  set(&c.maxSpeechMs, maxSpeechMs);
  set(&c.minVoicedMs, minVoicedMs);
  set(&c.preRollMs, preRollMs);
  set(&c.postRollMs, postRollMs);
  set(&c.minLevelDb, minLevelDb);
  set(&c.initialNoiseDb, initialNoiseDb);
  Vad* v = Vad::create(c, &lastError);
  if (!v) return nullptr;
  sd_vad* h = new sd_vad{v, {}};
  h->events.reserve(16);
  return h;
}

const char* sd_vad_last_error(void) { return lastError.c_str(); }

void sd_vad_destroy(sd_vad* h) {
  if (!h) return;
  delete h->vad;
  delete h;
}

void sd_vad_reset(sd_vad* h) {
  if (h) h->vad->reset();
}

int sd_vad_process(sd_vad* h, const float* samples, int n, double* events, int maxEvents) {
  if (!h || !samples || n <= 0) return 0;
  return copyEvents(h, h->vad->process(samples, static_cast<size_t>(n), h->events), events, maxEvents);
}

int sd_vad_flush(sd_vad* h, double* events, int maxEvents) {
  if (!h) return 0;
  return copyEvents(h, h->vad->flush(h->events), events, maxEvents);
}

void sd_vad_state(sd_vad* h, double* out) {
  if (!h || !out) return;
  out[0] = h->vad->takePeakLevelDb();
  out[1] = h->vad->noiseFloorDb();
  out[2] = h->vad->inSpeech() ? 1 : 0;
  out[3] = static_cast<double>(h->vad->samplesSeen());
  out[4] = h->vad->lastBandDb();
  out[5] = h->vad->segmentAccepted() ? 1 : 0;
  out[6] = static_cast<double>(h->vad->silentSamples());
}

int sd_find_valleys(const float* samples, int n, int sampleRate, float minDepthDb, float minPieceMs, double* out, int maxValleys) {
  if (!samples || n <= 0) return 0;
  return writeValleys(spoken_digits::findEnergyValleys(samples, static_cast<size_t>(n), sampleRate, minDepthDb, minPieceMs), out, maxValleys);
}

int sd_band_contour(const float* samples, int n, int sampleRate, int firstHop, float* out, int maxOut) {
  if (!samples || n < 0 || sampleRate < 4000 || firstHop < 0 || !out) return -1;
  if (maxOut < spoken_digits::contourHopCount(static_cast<size_t>(n), sampleRate) - firstHop) return -1;
  return spoken_digits::bandContourHops(samples, static_cast<size_t>(n), sampleRate, firstHop, out);
}

int sd_contour_valleys(const float* bandDb, int hops, int sampleRate, float minDepthDb, float minPieceMs, double* out, int maxValleys) {
  if (!bandDb || hops <= 0) return 0;
  return writeValleys(spoken_digits::findContourValleys(bandDb, hops, sampleRate, minDepthDb, minPieceMs), out, maxValleys);
}

int sd_speech_extent(const float* samples, int n, int sampleRate, float dropDb, float marginMs, float keepWithinDb, double* out) {
  if (!samples || n <= 0 || !out) return 0;
  int64_t start = 0, end = 0;
  if (!spoken_digits::findSpeechExtent(samples, static_cast<size_t>(n), sampleRate, dropDb, marginMs, keepWithinDb, &start, &end)) return 0;
  out[0] = static_cast<double>(start);
  out[1] = static_cast<double>(end);
  return 1;
}

int sd_contour_speech_extent(const float* bandDb, int hops, int n, int sampleRate, float dropDb, float marginMs, float keepWithinDb, double* out) {
  if (!out || n <= 0 || sampleRate < 4000 || hops != spoken_digits::contourHopCount(static_cast<size_t>(n), sampleRate)) return -1;
  if (!bandDb || hops <= 0) return 0;
  int64_t start = 0, end = 0;
  if (!spoken_digits::contourSpeechExtent(bandDb, hops, static_cast<size_t>(n), sampleRate, dropDb, marginMs, keepWithinDb, &start, &end)) return 0;
  out[0] = static_cast<double>(start);
  out[1] = static_cast<double>(end);
  return 1;
}

}  // extern "C"
