// Microphone capture through PortAudio into a lock-free ring.
//
// The PortAudio callback only copies the block into the SPSC ring and notes when it did so; no
// allocation, no locks, no JavaScript. The consumer (the addon's read(), on the JS thread) drains
// the ring, downmixes to mono and measures how long samples waited (callback-to-reader latency).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <portaudio.h>

#include "../dsp/ring_buffer.h"

namespace spoken_digits {

struct CaptureDeviceInfo {
  int index = -1;
  std::string name;
  std::string hostApi;
  int maxInputChannels = 0;
  double defaultSampleRate = 0;
  double defaultLowInputLatency = 0;
  bool isDefault = false;
  std::vector<double> supportedRates;  // of a fixed probe list, those the device accepts for mono float input
};

// The capture ring's largest size in samples (512 MiB of floats): 10 minutes of 48 kHz stereo (58 M
// samples) fits; 10 minutes of 384 kHz in 32 channels (7.4 G) is refused, not attempted.
constexpr size_t kMaxRingSamples = size_t{1} << 27;

struct CaptureOptions {
  int device = -1;  // -1: the default input device
  double sampleRate = 16000;
  int channels = 1;
  unsigned long framesPerBuffer = 0;  // 0: let PortAudio choose
  double bufferSeconds = 2.0;  // ring size; what the reader may fall behind before samples are dropped
  double suggestedLatency = 0;  // seconds of driver buffering; 0: the device's low-latency default
};

struct CaptureStats {
  uint64_t framesCaptured = 0;  // frames the callback delivered into the ring
  uint64_t framesRead = 0;
  uint64_t droppedFrames = 0;  // the reader was too slow: the ring was full
  uint64_t overflows = 0;      // callbacks that could not store their whole block
  uint64_t inputOverflows = 0;  // PortAudio/driver-side overruns (paInputOverflow)
  uint64_t callbacks = 0;
  bool active = false;         // PortAudio still runs the stream (false after a device vanished)
  double latencyMeanMs = 0, latencyMaxMs = 0;  // callback -> read(), over reads since the last stats call
  uint64_t latencySamples = 0;
};

// Ref-counted Pa_Initialize/Pa_Terminate shared by listing and streams.
bool acquirePortAudio(std::string* error);
void releasePortAudio();

bool listCaptureDevices(std::vector<CaptureDeviceInfo>* out, std::string* error);
// Resolves "3", or a case-insensitive substring of a device name, to an input device index.
int findCaptureDevice(const std::string& nameOrIndex, std::string* error);

class Capture {
 public:
  Capture() = default;
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  bool open(const CaptureOptions& options, std::string* error);
  bool start(std::string* error);  // no-op when running
  bool stop(std::string* error);   // no-op when stopped
  void close();                    // no-op when closed; stops first
  bool isOpen() const { return stream_ != nullptr; }
  // True once the device vanished while running (the stream was then abandoned, see the .cpp).
  bool lost() const { return lost_; }
  bool isRunning() const { return running_; }
  double sampleRate() const { return rate_; }
  int channels() const { return channels_; }

  // Mono frames available / read (channels averaged). JS thread only.
  size_t available() const;
  size_t read(float* mono, size_t maxFrames);
  CaptureStats stats();

 private:
  static int callback(const void* input, void* output, unsigned long frames, const PaStreamCallbackTimeInfo* timeInfo,
                      PaStreamCallbackFlags flags, void* user);
  static void finished(void* user);
  bool abandonIfLost();

  struct Stamp {
    uint64_t endFrame;  // ring position (in frames) after this callback's block
    int64_t nanos;      // steady clock when it was stored
  };

  PaStream* stream_ = nullptr;
  bool running_ = false;
  bool lost_ = false;
  bool holdsPortAudio_ = false;
  double rate_ = 0;
  int channels_ = 1;
  std::unique_ptr<SpscRing<float>> ring_;
  std::unique_ptr<SpscRing<Stamp>> stamps_;
  std::vector<float> scratch_;
  Stamp pending_{0, 0};  // first stamp whose block is not fully read yet
  bool hasPending_ = false;
  std::atomic<uint64_t> callbacks_{0}, inputOverflows_{0};
  std::atomic<bool> finished_{false};
  uint64_t framesRead_ = 0;
  // Frames dropped unread when a stopped stream started again (what the ring held was stale by then).
  uint64_t framesDiscarded_ = 0;
  bool startedBefore_ = false;
  double latencySum_ = 0, latencyMax_ = 0;
  uint64_t latencyCount_ = 0;
};

}  // namespace spoken_digits
