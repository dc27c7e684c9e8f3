// Real PortAudio capture without a sound card: ALSA's file plugin plays a raw S16_LE file as the
// default capture device (ALSA_CONFIG_PATH points at a generated config). The captured samples
// must be the file's samples, in order, and the capture lifecycle must be idempotent.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "../capture/pa_capture.h"
#include "check.h"
#include "wav_fixture.h"

using namespace spoken_digits;


int main() {
  int rate = 0;
  auto clip = spoken_digits_test::readWav16(spoken_digits_test::fsddDir() + "/3_george_0.wav", &rate);
  if (clip.empty()) {
    std::fprintf(stderr, "FSDD clip missing under %s (set SPOKEN_DIGITS_FSDD)\n", spoken_digits_test::fsddDir().c_str());
    return 1;
  }
  char tmpl[] = "/tmp/sd-capture-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string raw = dir + "/in.raw", conf = dir + "/asound.conf";
  {
    std::ofstream f(raw, std::ios::binary);
    for (float v : clip) {
      const int16_t s = static_cast<int16_t>(std::lround(v * 32768.f));
      f.write(reinterpret_cast<const char*>(&s), 2);
    }
    // The file plugin repeats stale data past the end; pad so the test only reads real samples.
    const std::vector<char> zeros(rate * 4, 0);
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  {
    std::ofstream f(conf);
    f << "pcm.!default {\n type asym\n playback.pcm { type null }\n capture.pcm {\n  type plug\n  slave {\n"
      << "   pcm { type file; slave.pcm { type null }; file \"/dev/null\"; infile \"" << raw << "\"; format \"raw\" }\n"
      << "   format S16_LE\n   rate " << rate << "\n   channels 1\n  }\n }\n}\n";
  }
  setenv("ALSA_CONFIG_PATH", conf.c_str(), 1);

  std::vector<CaptureDeviceInfo> devices;
  std::string err;
  CHECK(listCaptureDevices(&devices, &err), "list failed: %s", err.c_str());
  bool haveDefault = false;
  for (const auto& d : devices) {
    std::printf("device %d '%s' (%s) in=%d default=%d rate=%.0f\n", d.index, d.name.c_str(), d.hostApi.c_str(), d.maxInputChannels, d.isDefault, d.defaultSampleRate);
    haveDefault = haveDefault || d.isDefault;
  }
  CHECK(haveDefault, "no default input device listed");
  CHECK(findCaptureDevice("no such microphone", &err) < 0 && err.find("no input device matches") != std::string::npos, "bad name: %s", err.c_str());
  CHECK(findCaptureDevice("9999", &err) < 0, "bad index accepted");

  Capture cap;
  CaptureOptions o;
  o.sampleRate = rate;
  o.framesPerBuffer = std::getenv("FPB") ? std::strtoul(std::getenv("FPB"), nullptr, 10) : 80;
  o.bufferSeconds = 10;
  // The file plugin's null slave runs infinitely fast: any driver buffer shorter than the file
  // overruns and skips data, so let the driver buffer hold all of it.
  o.suggestedLatency = std::getenv("LAT") ? std::atof(std::getenv("LAT")) : 5;
  CHECK(cap.open(o, &err), "open failed: %s", err.c_str());
  CHECK(!cap.open(o, &err), "second open accepted");
  CHECK(cap.start(&err) && cap.start(&err), "start (twice) failed: %s", err.c_str());
  std::vector<float> got;
  std::vector<float> block(4096);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.size() < clip.size() && std::chrono::steady_clock::now() < deadline) {
    const size_t n = cap.read(block.data(), block.size());
    got.insert(got.end(), block.begin(), block.begin() + static_cast<long>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CaptureStats st = cap.stats();
  CHECK(cap.stop(&err) && cap.stop(&err), "stop (twice) failed: %s", err.c_str());
  cap.close();
  cap.close();
  std::printf("captured %zu frames in %llu callbacks, dropped %llu, latency mean %.2f ms max %.2f ms (%llu blocks)\n", got.size(),
              (unsigned long long)st.callbacks, (unsigned long long)st.droppedFrames, st.latencyMeanMs, st.latencyMaxMs,
              (unsigned long long)st.latencySamples);
  CHECK(got.size() >= clip.size(), "captured only %zu of %zu frames", got.size(), clip.size());
  // The file plugin's output is the file: compare sample by sample (within int16 rounding).
  size_t mismatches = 0;
  for (size_t i = 0; i < std::min(got.size(), clip.size()); ++i) mismatches += std::fabs(got[i] - clip[i]) > 1.5f / 32768.f;
  if (mismatches && std::getenv("VERBOSE"))
    for (size_t i = 0, shown = 0; i < clip.size() && shown < 20; ++i)
      if (std::fabs(got[i] - clip[i]) > 1.5f / 32768.f) std::printf("%zu got %.5f want %.5f\n", i, got[i], clip[i]), ++shown;
  CHECK(mismatches == 0, "%zu of %zu captured samples differ from the file", mismatches, clip.size());
  CHECK(st.latencySamples > 0, "no latency measured");

  // A closed stream refuses to start, a bad device index is refused with a message.
  CHECK(!cap.start(&err) && err.find("closed") != std::string::npos, "start after close: %s", err.c_str());
  CaptureOptions bad = o;
  bad.device = 9999;
  Capture other;
  CHECK(!other.open(bad, &err) && err.find("there is no device 9999: PortAudio sees") != std::string::npos, "bad device: %s", err.c_str());

  std::remove(raw.c_str());
  std::remove(conf.c_str());
  rmdir(dir.c_str());
  return spoken_digits_test::finish("capture_test");
}
