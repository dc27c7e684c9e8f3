// Every binding file exposes one Register* function; addon.cpp calls them all at module load.
#pragma once

#include <napi.h>

void RegisterFeatures(Napi::Env env, Napi::Object exports);  // features_binding.cpp
void RegisterVad(Napi::Env env, Napi::Object exports);       // vad_binding.cpp
void RegisterCapture(Napi::Env env, Napi::Object exports);   // capture_binding.cpp (a stub without PortAudio)
void RegisterMemory(Napi::Env env, Napi::Object exports);    // memory_binding.cpp
// Add new Register* declarations here (and to the list in addon.cpp).
