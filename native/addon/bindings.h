// Every binding file exposes one Register* function; addon.cpp calls them all at module load.
#pragma once

#include <napi.h>

void RegisterFeatures(Napi::Env env, Napi::Object exports);
// Add new Register* declarations here (and to the list in addon.cpp).
