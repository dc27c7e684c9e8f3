// Every binding file exposes one Register* function; addon.cpp calls them all at module load.
#pragma once

#include <napi.h>

#include <cmath>

// Whether a JS number is a whole number in [lo, hi]: checked before any cast to an integer type
// (Infinity, NaN or 2^32 + 8000 would be undefined behaviour or wrap), the bindings' one test for it.
inline bool isIntegerIn(double d, double lo, double hi) { return d >= lo && d <= hi && d == std::floor(d); }

void RegisterFeatures(Napi::Env env, Napi::Object exports);  // features_binding.cpp
void RegisterVad(Napi::Env env, Napi::Object exports);       // vad_binding.cpp
void RegisterCapture(Napi::Env env, Napi::Object exports);   // capture_binding.cpp (a stub without PortAudio)
void RegisterMemory(Napi::Env env, Napi::Object exports);    // memory_binding.cpp
// Add new Register* declarations here (and to the list in addon.cpp).
