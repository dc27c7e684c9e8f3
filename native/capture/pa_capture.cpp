#include "pa_capture.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <mutex>
#include <sstream>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

namespace spoken_digits {

namespace {

std::mutex paMutex;
int paUsers = 0;
// Set once a stream was abandoned (see Capture::abandonIfLost): PortAudio may still hold state for
// it, so it is never terminated afterwards.
bool paAbandoned = false;

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const double kProbeRates[] = {8000, 16000, 22050, 32000, 44100, 48000};

// PortAudio probes every host API on init; Debian's build tries JACK and ALSA probes unusual PCMs,
// and both print pages of "cannot connect to server" to stderr. Those lines are noise for a CLI,
// so stderr is muted around init/terminate (SPOKEN_DIGITS_PA_VERBOSE=1 shows them).
class MutedStderr {
 public:
  MutedStderr() {
#ifndef _WIN32
    const char* verbose = std::getenv("SPOKEN_DIGITS_PA_VERBOSE");
    if (verbose && std::strcmp(verbose, "0") != 0) return;
    std::fflush(stderr);
    saved_ = dup(2);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && devnull >= 0) dup2(devnull, 2);
    if (devnull >= 0) ::close(devnull);
#endif
  }
  ~MutedStderr() {
#ifndef _WIN32
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    ::close(saved_);
#endif
  }

 private:
  int saved_ = -1;
};

}  // namespace

bool acquirePortAudio(std::string* error) {
  std::lock_guard<std::mutex> lock(paMutex);
  if (paUsers == 0) {
    PaError err;
    {
      MutedStderr mute;
      err = Pa_Initialize();
    }
    if (err != paNoError) {
      if (error) *error = std::string("PortAudio failed to initialize: ") + Pa_GetErrorText(err);
      return false;
    }
  }
  ++paUsers;
  return true;
}

void releasePortAudio() {
  std::lock_guard<std::mutex> lock(paMutex);
  if (paUsers > 0 && --paUsers == 0 && !paAbandoned) {
    MutedStderr mute;
    Pa_Terminate();
  }
}

bool listCaptureDevices(std::vector<CaptureDeviceInfo>* out, std::string* error) {
  if (!acquirePortAudio(error)) return false;
  const int count = Pa_GetDeviceCount();
  if (count < 0) {
    if (error) *error = std::string("PortAudio could not count devices: ") + Pa_GetErrorText(count);
    releasePortAudio();
    return false;
  }
  const PaDeviceIndex def = Pa_GetDefaultInputDevice();
  for (int i = 0; i < count; ++i) {
    const PaDeviceInfo* d = Pa_GetDeviceInfo(i);
    if (!d || d->maxInputChannels <= 0) continue;
    CaptureDeviceInfo info;
    info.index = i;
    info.name = d->name ? d->name : "";
    const PaHostApiInfo* api = Pa_GetHostApiInfo(d->hostApi);
    info.hostApi = api && api->name ? api->name : "";
    info.maxInputChannels = d->maxInputChannels;
    info.defaultSampleRate = d->defaultSampleRate;
    info.defaultLowInputLatency = d->defaultLowInputLatency;
    info.isDefault = i == def;
    PaStreamParameters in{};
    in.device = i;
    in.channelCount = 1;
    in.sampleFormat = paFloat32;
    in.suggestedLatency = d->defaultLowInputLatency;
    for (double rate : kProbeRates)
      if (Pa_IsFormatSupported(&in, nullptr, rate) == paFormatIsSupported) info.supportedRates.push_back(rate);
    out->push_back(info);
  }
  releasePortAudio();
  return true;
}

int findCaptureDevice(const std::string& query, std::string* error) {
  std::vector<CaptureDeviceInfo> devices;
  if (!listCaptureDevices(&devices, error)) return -1;
  const bool numeric = !query.empty() && std::all_of(query.begin(), query.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  std::ostringstream names;
  for (const auto& d : devices) names << "\n  " << d.index << ": " << d.name;
  if (numeric) {
    // Leading zeros aside, more digits than any device index has: no such device (std::stoi would throw on it).
    const std::string digits = query.substr(std::min(query.find_first_not_of('0'), query.size() - 1));
    const long long idx = digits.size() > 9 ? -1 : std::stoll(digits);
    for (const auto& d : devices)
      if (d.index == idx) return d.index;
    if (error) *error = "no input device with index " + query + "; input devices:" + (devices.empty() ? std::string(" none") : names.str());
    return -1;
  }
  const std::string q = lower(query);
  int partial = -1, partialCount = 0;
  for (const auto& d : devices) {
    if (lower(d.name) == q) return d.index;
    if (lower(d.name).find(q) != std::string::npos) {
      partial = d.index;
      ++partialCount;
    }
  }
  if (partialCount == 1) return partial;
  if (error) {
    *error = partialCount > 1 ? "input device name '" + query + "' is ambiguous; input devices:" + names.str()
                              : "no input device matches '" + query + "'; input devices:" + (devices.empty() ? std::string(" none") : names.str());
  }
  return -1;
}

Capture::~Capture() { close(); }

bool Capture::open(const CaptureOptions& o, std::string* error) {
  if (stream_) {
    if (error) *error = "capture stream is already open";
    return false;
  }
  if (!(o.sampleRate >= 1000 && o.sampleRate <= 384000) || o.channels < 1 || o.channels > 32 || !(o.bufferSeconds > 0 && o.bufferSeconds <= 600) ||
      !(o.suggestedLatency >= 0 && o.suggestedLatency <= 60)) {
    if (error) *error = "invalid capture options: sampleRate must be 1000..384000, channels 1..32, bufferSeconds in (0, 600], suggestedLatency in [0, 60]";
    return false;
  }
  // The ring: at least 1024 frames (a callback's block fits), at most kMaxRingSamples.
  const double frames = std::max(1024.0, std::ceil(o.bufferSeconds * o.sampleRate));
  const std::string ringMiB = std::to_string(static_cast<long long>(frames * o.channels * sizeof(float) / 1048576));
  if (frames * o.channels > static_cast<double>(kMaxRingSamples)) {
    if (error) *error = "capture buffer of " + ringMiB + " MiB asked for (bufferSeconds x sampleRate x channels); at most " + std::to_string(kMaxRingSamples * sizeof(float) >> 20) +
                        " MiB: lower bufferSeconds";
    return false;
  }
  if (!acquirePortAudio(error)) return false;
  holdsPortAudio_ = true;
  const int device = o.device < 0 ? Pa_GetDefaultInputDevice() : o.device;
  const PaDeviceInfo* info = device == paNoDevice || device >= Pa_GetDeviceCount() ? nullptr : Pa_GetDeviceInfo(device);
  if (!info || info->maxInputChannels <= 0) {
    if (error) {
      const int count = Pa_GetDeviceCount();
      if (o.device < 0)
        *error = "no default input device: PortAudio sees " + std::to_string(count) +
                 " device(s) and none is a default input; connect a microphone or open one by index or name (digits listen --device; --list-devices lists them)";
      else if (count <= 0)
        *error = "there is no device " + std::to_string(o.device) + ": PortAudio sees no audio devices at all; connect a microphone";
      else if (o.device >= count)
        *error = "there is no device " + std::to_string(o.device) + ": PortAudio sees " + std::to_string(count) + " device(s), 0.." +
                 std::to_string(count - 1) + ", inputs and outputs (--list-devices shows the inputs)";
      else
        *error = "device " + std::to_string(o.device) + " is not an input device (see --list-devices)";
    }
    close();
    return false;
  }
  if (o.channels > info->maxInputChannels) {
    if (error) *error = "device '" + std::string(info->name) + "' has " + std::to_string(info->maxInputChannels) + " input channel(s); " + std::to_string(o.channels) + " requested";
    close();
    return false;
  }
  PaStreamParameters in{};
  in.device = device;
  in.channelCount = o.channels;
  in.sampleFormat = paFloat32;
  in.suggestedLatency = o.suggestedLatency > 0 ? o.suggestedLatency : info->defaultLowInputLatency;
  channels_ = o.channels;
  rate_ = o.sampleRate;
  try {
    ring_.reset(new SpscRing<float>(static_cast<size_t>(frames) * static_cast<size_t>(o.channels)));
    stamps_.reset(new SpscRing<Stamp>(4096));
  } catch (const std::bad_alloc&) {
    if (error) *error = "not enough memory for a capture buffer of " + ringMiB + " MiB: lower bufferSeconds";
    close();
    return false;
  }
  finished_ = false;
  const PaError err = Pa_OpenStream(&stream_, &in, nullptr, o.sampleRate, o.framesPerBuffer ? o.framesPerBuffer : paFramesPerBufferUnspecified,
                                    paClipOff, &Capture::callback, this);
  if (err != paNoError) {
    stream_ = nullptr;
    if (error) {
      *error = "cannot open '" + std::string(info->name) + "' at " + std::to_string(static_cast<int>(o.sampleRate)) + " Hz, " +
               std::to_string(o.channels) + " channel(s): " + Pa_GetErrorText(err);
      if (err == paInvalidSampleRate) *error += " (open it at its default rate " + std::to_string(static_cast<int>(info->defaultSampleRate)) + " Hz and resample)";
    }
    close();
    return false;
  }
  Pa_SetStreamFinishedCallback(stream_, &Capture::finished);
  return true;
}

int Capture::callback(const void* input, void*, unsigned long frames, const PaStreamCallbackTimeInfo*, PaStreamCallbackFlags flags, void* user) {
  // Real-time thread: copy, stamp, count. Nothing that can block or allocate.
  auto* self = static_cast<Capture*>(user);
  self->callbacks_.fetch_add(1, std::memory_order_relaxed);
  if (flags & paInputOverflow) self->inputOverflows_.fetch_add(1, std::memory_order_relaxed);
  if (!input) return paContinue;
  const size_t ch = static_cast<size_t>(self->channels_);
  self->ring_->push(static_cast<const float*>(input), static_cast<size_t>(frames) * ch, ch);
  const Stamp stamp{self->ring_->totalWritten() / ch, nowNanos()};
  self->stamps_->push(&stamp, 1);
  return paContinue;
}

void Capture::finished(void* user) { static_cast<Capture*>(user)->finished_.store(true, std::memory_order_release); }

bool Capture::start(std::string* error) {
  if (!stream_) {
    if (error) *error = "capture stream is closed";
    return false;
  }
  if (running_) return true;
  // Started again after a stop: what the ring still holds was captured before the stop, so it is
  // dropped (the callback is not running, so this side may move the read position).
  if (startedBefore_) {
    const uint64_t stale = ring_->available() / static_cast<size_t>(channels_);
    ring_->clear();
    stamps_->clear();
    hasPending_ = false;
    framesDiscarded_ += stale;
  }
  finished_ = false;
  const PaError err = Pa_StartStream(stream_);
  if (err != paNoError) {
    if (error) *error = std::string("cannot start capture: ") + Pa_GetErrorText(err);
    return false;
  }
  running_ = true;
  startedBefore_ = true;
  return true;
}

bool Capture::abandonIfLost() {
  if (!stream_ || !running_ || Pa_IsStreamActive(stream_) == 1) return false;
  // The host ended the stream on its own: the device was unplugged or the sound server died.
  // PortAudio then can block forever in Pa_StopStream/Pa_AbortStream/Pa_CloseStream (seen with
  // JACK), so the stream is abandoned: its handle and buffers are leaked on purpose (the callback
  // can no longer run, but nothing it might touch is freed), and PortAudio is never terminated.
  {
    std::lock_guard<std::mutex> lock(paMutex);
    paAbandoned = true;
  }
  (void)ring_.release();
  (void)stamps_.release();
  stream_ = nullptr;
  running_ = false;
  lost_ = true;
  return true;
}

bool Capture::stop(std::string* error) {
  if (!stream_ || !running_) return true;
  if (abandonIfLost()) {
    if (error) *error = "the capture device is gone (unplugged, or its sound server stopped)";
    return false;
  }
  running_ = false;
  const PaError err = Pa_IsStreamStopped(stream_) == 1 ? paNoError : Pa_StopStream(stream_);
  if (err != paNoError) {
    Pa_AbortStream(stream_);
    if (error) *error = std::string("capture did not stop cleanly: ") + Pa_GetErrorText(err);
    return false;
  }
  return true;
}

void Capture::close() {
  abandonIfLost();
  if (stream_) {
    if (running_) {
      running_ = false;
      if (Pa_IsStreamStopped(stream_) != 1) Pa_AbortStream(stream_);
    }
    Pa_CloseStream(stream_);
    stream_ = nullptr;
  }
  if (holdsPortAudio_) {
    holdsPortAudio_ = false;
    releasePortAudio();
  }
}

size_t Capture::available() const { return ring_ ? ring_->available() / static_cast<size_t>(channels_) : 0; }

size_t Capture::read(float* mono, size_t maxFrames) {
  if (!ring_) return 0;
  const size_t ch = static_cast<size_t>(channels_);
  const size_t frames = std::min(maxFrames, ring_->available() / ch);
  if (ch == 1) {
    ring_->pop(mono, frames);
  } else {
    if (scratch_.size() < frames * ch) scratch_.resize(frames * ch);
    ring_->pop(scratch_.data(), frames * ch);
    const float inv = 1.f / static_cast<float>(ch);
    for (size_t i = 0; i < frames; ++i) {
      float s = 0;
      for (size_t c = 0; c < ch; ++c) s += scratch_[i * ch + c];
      mono[i] = s * inv;
    }
  }
  framesRead_ += frames;
  // Every callback block now fully read: how long it waited in the ring. The first stamp whose
  // block is still partly unread is kept for the next read.
  const int64_t now = nowNanos();
  for (;;) {
    if (!hasPending_) {
      if (stamps_->pop(&pending_, 1) == 0) break;
      hasPending_ = true;
    }
    if (pending_.endFrame > framesRead_ + framesDiscarded_) break;
    hasPending_ = false;
    const double ms = static_cast<double>(now - pending_.nanos) / 1e6;
    latencySum_ += ms;
    latencyMax_ = std::max(latencyMax_, ms);
    ++latencyCount_;
  }
  return frames;
}

CaptureStats Capture::stats() {
  CaptureStats s;
  if (ring_) {
    const size_t ch = static_cast<size_t>(channels_);
    s.framesCaptured = ring_->totalWritten() / ch;
    s.droppedFrames = ring_->dropped() / ch;
    s.overflows = ring_->overflows();
  }
  s.framesRead = framesRead_;
  s.inputOverflows = inputOverflows_.load(std::memory_order_relaxed);
  s.callbacks = callbacks_.load(std::memory_order_relaxed);
  s.active = stream_ && running_ && !finished_.load(std::memory_order_acquire) && Pa_IsStreamActive(stream_) == 1;
  s.latencyMeanMs = latencyCount_ ? latencySum_ / static_cast<double>(latencyCount_) : 0;
  s.latencyMaxMs = latencyMax_;
  s.latencySamples = latencyCount_;
  latencySum_ = latencyMax_ = 0;
  latencyCount_ = 0;
  return s;
}

}  // namespace spoken_digits
