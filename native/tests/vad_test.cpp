// VAD/endpointer on real FSDD speech placed in noise at known positions.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../dsp/vad.h"
#include "check.h"
#include "wav_fixture.h"

using namespace spoken_digits;


struct Placed {
  int64_t start, end;
};

static std::vector<float> noise(size_t n, float rmsDb, std::mt19937& rng) {
  std::normal_distribution<float> g(0.f, std::pow(10.f, rmsDb / 20.f));
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return v;
}

// Clips separated by `gapMs` of noise at `noiseDb`, with 1 s of noise before and after.
static std::vector<float> buildStream(const std::vector<std::vector<float>>& clips, float gapMs, float noiseDb, std::vector<Placed>* where) {
  std::mt19937 rng(42);
  const size_t lead = 8000, gap = static_cast<size_t>(gapMs * 8);
  size_t total = 2 * lead;
  for (const auto& c : clips) total += c.size() + gap;
  std::vector<float> s = noise(total, noiseDb, rng);
  size_t at = lead;
  for (const auto& c : clips) {
    for (size_t i = 0; i < c.size(); ++i) s[at + i] += c[i];
    where->push_back({static_cast<int64_t>(at), static_cast<int64_t>(at + c.size())});
    at += c.size() + gap;
  }
  return s;
}

static std::vector<VadEvent> run(const VadConfig& cfg, const std::vector<float>& s, size_t block) {
  std::string err;
  Vad* vad = Vad::create(cfg, &err);
  std::vector<VadEvent> ev;
  for (size_t i = 0; i < s.size(); i += block) vad->process(s.data() + i, std::min(block, s.size() - i), ev);
  vad->flush(ev);
  delete vad;
  return ev;
}

static std::vector<VadEvent> ends(const std::vector<VadEvent>& ev) {
  std::vector<VadEvent> out;
  for (const auto& e : ev)
    if (e.type == VadEventType::End) out.push_back(e);
  return out;
}

int main() {
  const bool verbose = std::getenv("VERBOSE") != nullptr;
  std::vector<std::vector<float>> clips;
  const char* names[] = {"0_george_0", "1_jackson_1", "2_theo_2", "3_nicolas_3", "4_yweweler_4", "5_lucas_0",
                         "6_george_1", "7_jackson_2", "8_theo_3", "9_nicolas_4"};
  for (const char* n : names) {
    int rate = 0;
    auto c = spoken_digits_test::readWav16(spoken_digits_test::fsddDir() + "/" + n + ".wav", &rate);
    if (c.empty() || rate != 8000) {
      std::fprintf(stderr, "FSDD clip %s missing under %s (set SPOKEN_DIGITS_FSDD)\n", n, spoken_digits_test::fsddDir().c_str());
      return 1;
    }
    // Same peak level for every clip (-10 dBFS), so the noise levels below are SNRs.
    float peak = 0;
    for (float v : c) peak = std::max(peak, std::fabs(v));
    for (float& v : c) v *= 0.316f / peak;
    clips.push_back(c);
  }

  VadConfig cfg;
  // Every clip separated by 600 ms of noise is found once, and the segment covers its start.
  for (float noiseDb : {-80.f, -55.f, -40.f}) {
    std::vector<Placed> where;
    auto s = buildStream(clips, 600, noiseDb, &where);
    auto ev = ends(run(cfg, s, 160));
    if (verbose)
      for (auto& e : ev) std::printf("noise %.0f: end %lld..%lld reason %d\n", noiseDb, (long long)e.startSample, (long long)e.endSample, (int)e.reason);
    CHECK(ev.size() == clips.size(), "noise %.0f dB: %zu segments for %zu clips", noiseDb, ev.size(), clips.size());
    for (size_t i = 0; i < std::min(ev.size(), where.size()); ++i) {
      // FSDD clips end in quiet breath of varying length, so only the start and an overlap of at
      // least 150 ms are required.
      const int64_t ov = std::min(ev[i].endSample, where[i].end) - std::max(ev[i].startSample, where[i].start);
      CHECK(ov >= 1200 && ev[i].startSample <= where[i].start + 1600 && ev[i].startSample >= where[i].start - 2400, "noise %.0f dB clip %zu: segment %lld..%lld vs clip %lld..%lld", noiseDb, i,
            (long long)ev[i].startSample, (long long)ev[i].endSample, (long long)where[i].start, (long long)where[i].end);
    }
  }

  // Block size does not change the result.
  {
    std::vector<Placed> where;
    auto s = buildStream(clips, 300, -55, &where);
    auto ref = run(cfg, s, 4096);
    for (size_t block : {1u, 7u, 80u, 333u}) {
      auto ev = run(cfg, s, block);
      bool same = ev.size() == ref.size();
      for (size_t i = 0; same && i < ev.size(); ++i)
        same = ev[i].type == ref[i].type && ev[i].startSample == ref[i].startSample && ev[i].endSample == ref[i].endSample;
      CHECK(same, "block %zu gives different events (%zu vs %zu)", block, ev.size(), ref.size());
    }
  }

  // Noise alone — steady, then a burst 30 dB louder — yields no speech segment.
  {
    std::mt19937 rng(7);
    auto s = noise(8000 * 3, -60, rng);
    auto burst = noise(4000, -30, rng);
    for (size_t i = 0; i < burst.size(); ++i) s[12000 + i] += burst[i];
    auto ev = ends(run(cfg, s, 256));
    CHECK(ev.empty(), "white-noise burst produced %zu segments", ev.size());
  }

  // Brown (1/f^2) noise bursts: steeply tilted spectra must not pass for voiced speech.
  {
    std::mt19937 rng(8);
    auto s = noise(8000 * 4, -65, rng);
    std::normal_distribution<float> g(0.f, 1.f);
    float y = 0;
    for (size_t i = 8000; i < 8000 + 6000; ++i) {
      y = 0.995f * y + 0.02f * g(rng);
      s[i] += y;
    }
    auto ev = ends(run(cfg, s, 256));
    CHECK(ev.empty(), "brown-noise burst produced %zu segments", ev.size());
  }

  // A melody of harmonic notes (music-like, voiced, but with a spectrum that holds still within
  // each note) is not speech.
  {
    std::mt19937 rng(10);
    auto s = noise(8000 * 3, -65, rng);
    const float notes[] = {262.f, 330.f, 392.f, 523.f};
    size_t at = 4000;
    for (float f0 : notes) {
      for (size_t i = 0; i < 2400; ++i, ++at) {
        const float t = static_cast<float>(i) / 8000.f, env = std::exp(-3.f * t);
        float v = 0;
        for (int h = 1; h <= 6; ++h) v += std::sin(2 * 3.14159265f * f0 * h * t) / static_cast<float>(h);
        s[at] += 0.2f * env * v;
      }
    }
    auto all = run(cfg, s, 256);
    auto ev = ends(all);
    bool tonal = false;
    for (auto& e : all) tonal = tonal || (e.type == VadEventType::Abort && e.reason == VadEndReason::Tonal);
    CHECK(ev.empty() && tonal, "melody produced %zu speech segments (tonal abort seen: %d)", ev.size(), tonal);
  }

  // A lasting 30 dB rise of the noise is followed: at most the maximum-length cut, then silence.
  {
    std::mt19937 rng(9);
    auto s = noise(8000 * 2, -65, rng);
    auto loud = noise(8000 * 12, -35, rng);
    s.insert(s.end(), loud.begin(), loud.end());
    auto ev = ends(run(cfg, s, 256));
    CHECK(ev.size() <= 1, "noise step produced %zu segments", ev.size());
  }

  // A steady 10 s tone is not speech forever: once the minimum statistics see it lasting, it is
  // background (or the maximum length cuts it first).
  {
    std::vector<float> s(8000 * 10);
    for (size_t i = 0; i < s.size(); ++i) s[i] = 0.2f * std::sin(2 * 3.14159265f * 440.f * i / 8000.f) + 0.1f * std::sin(2 * 3.14159265f * 880.f * i / 8000.f);
    auto ev = ends(run(cfg, s, 512));
    CHECK(ev.size() <= 1, "long tone gave %zu segments", ev.size());
    for (auto& e : ev) CHECK(e.endSample - e.startSample <= 8000 * 4 + 1600, "segment longer than the maximum: %lld", (long long)(e.endSample - e.startSample));
  }

  // Garbage (NaN, Inf, clipped full scale) never crashes and positions stay counted.
  {
    std::string err;
    Vad* v = Vad::create(cfg, &err);
    std::vector<float> s(8000, std::nanf(""));
    for (size_t i = 0; i < s.size(); i += 3) s[i] = INFINITY;
    std::vector<VadEvent> ev;
    v->process(s.data(), s.size(), ev);
    v->process(s.data(), 0, ev);
    CHECK(v->samplesSeen() == 8000, "samplesSeen %lld", (long long)v->samplesSeen());
    CHECK(std::isfinite(v->noiseFloorDb()), "noise floor became %f", v->noiseFloorDb());
    delete v;
  }

  // Invalid configs are refused with a message.
  {
    VadConfig bad;
    bad.sensitivity = 2;
    bad.sampleRate = 100;
    std::string err;
    Vad* v = Vad::create(bad, &err);
    CHECK(v == nullptr && err.find("sensitivity") != std::string::npos && err.find("sampleRate") != std::string::npos, "bad config accepted: %s", err.c_str());
    delete v;
    // Durations past a minute, and levels that are not finite, are refused too (they would size buffers, overflow hop counts).
    VadConfig huge;
    huge.maxSpeechMs = 1e12f;
    huge.preRollMs = 1e9f;
    huge.minLevelDb = INFINITY;
    v = Vad::create(huge, &err);
    CHECK(v == nullptr && err.find("maxSpeechMs") != std::string::npos && err.find("preRollMs") != std::string::npos && err.find("minLevelDb") != std::string::npos, "huge config accepted: %s", err.c_str());
    delete v;
  }

  // Valleys: two clips 200 ms apart give a cut in the gap; a single clip gives none deep enough.
  {
    std::vector<Placed> where;
    std::vector<std::vector<float>> two = {clips[4], clips[1]};
    auto s = buildStream(two, 200, -55, &where);
    std::vector<float> seg(s.begin() + where[0].start - 400, s.begin() + where[1].end + 400);
    auto valleys = findEnergyValleys(seg.data(), seg.size(), 8000, 10, 100);
    bool found = false;
    for (auto& v : valleys) {
      const int64_t abs = v.sample + where[0].start - 400;
      if (verbose) std::printf("valley at %lld depth %.1f low %.0f ms\n", (long long)abs, v.depthDb, v.lowMs);
      found = found || (abs >= where[0].end && abs <= where[1].start);
    }
    CHECK(found, "no valley between two clips (%zu valleys)", valleys.size());

    // A contour grown hop by hop, as a stream grows it (each call from the first unsettled hop),
    // is the contour of the whole audio, and its valleys are findEnergyValleys' own.
    std::vector<float> grown;
    int settled = 0;
    bool same = true;
    for (size_t n = 0; n <= seg.size(); n += 80 + (n % 7)) {
      const int hops = static_cast<int>(n / 80);
      std::vector<float> part(static_cast<size_t>(std::max(0, hops - settled)));
      const int next = bandContourHops(seg.data(), n, 8000, settled, part.data());
      grown.resize(static_cast<size_t>(settled));
      grown.insert(grown.end(), part.begin(), part.end());
      same = same && next <= hops && next >= settled - 1;
      settled = next;
    }
    const int hops = static_cast<int>(seg.size() / 80);
    std::vector<float> whole(static_cast<size_t>(hops));
    bandContourHops(seg.data(), seg.size(), 8000, 0, whole.data());
    // The last sizes stepped past seg.size(): finish with the whole length.
    std::vector<float> tail(static_cast<size_t>(hops - settled));
    bandContourHops(seg.data(), seg.size(), 8000, settled, tail.data());
    grown.resize(static_cast<size_t>(settled));
    grown.insert(grown.end(), tail.begin(), tail.end());
    CHECK(same && grown == whole, "a contour grown hop by hop differs from the whole one (%zu vs %zu hops)", grown.size(), whole.size());
    const auto fromContour = findContourValleys(whole.data(), hops, 8000, 10, 100);
    bool equal = fromContour.size() == valleys.size();
    for (size_t i = 0; equal && i < valleys.size(); ++i)
      equal = fromContour[i].sample == valleys[i].sample && fromContour[i].depthDb == valleys[i].depthDb && fromContour[i].lowMs == valleys[i].lowMs;
    CHECK(equal, "findContourValleys found %zu valleys, findEnergyValleys %zu", fromContour.size(), valleys.size());
    // Settled hops: frame k (32 ms, centred on k * 80 + 40) ends at k * 80 + 168.
    CHECK(bandContourHops(seg.data(), 1000, 8000, 12, whole.data()) == 11, "1000 samples: hops 0-10 are settled (hop 10 ends at 968)");
    CHECK(bandContourHops(seg.data(), 50, 8000, 0, whole.data()) == 0, "50 samples: no hop");

    // Arguments past what the contour functions take: nothing found, never overflowed positions (UBSan saw
    // lround(1e30) wrap to LONG_MIN) nor a 1 GB analyzer at 1e9 Hz.
    int64_t start = -1, end = -1;
    CHECK(findSpeechExtent(seg.data(), seg.size(), 8000, 40, 1e30f, 0, &start, &end) && start == 0 && end == static_cast<int64_t>(seg.size()),
          "a margin of 1e30 ms: %lld..%lld, not the whole segment", (long long)start, (long long)end);
    CHECK(!findSpeechExtent(seg.data(), seg.size(), 8000, 40, -5, 0, &start, &end) && !findSpeechExtent(seg.data(), seg.size(), 8000, 40, NAN, 0, &start, &end),
          "a negative or NaN margin was taken");
    CHECK(findEnergyValleys(seg.data(), seg.size(), 8000, 10, 1e30f).empty() && findEnergyValleys(seg.data(), seg.size(), 8000, 10, 3e10f).empty() &&
              findEnergyValleys(seg.data(), seg.size(), 8000, 10, NAN).empty(),
          "pieces longer than the audio still found valleys");
    CHECK(contourHopCount(seg.size(), 1000000000) == 0 && bandContourHops(seg.data(), seg.size(), 1000000000, 0, whole.data()) == 0 &&
              findEnergyValleys(seg.data(), seg.size(), 1000000000, 10, 100).empty() && !findSpeechExtent(seg.data(), seg.size(), 192001, 40, 20, 0, &start, &end),
          "a rate past 192 kHz was analysed");
  }

  return spoken_digits_test::finish("vad_test");
}
