// PortAudio loaded at run time (SPOKEN_DIGITS_PORTAUDIO_DLOPEN builds only; see pa_dlopen.cpp).
#pragma once

namespace spoken_digits {

// Why PortAudio could not be loaded (the library is absent or lacks a function), or nullptr once it is
// loaded. The first call loads it: the system's libportaudio, or SPOKEN_DIGITS_PORTAUDIO_LIB's path.
const char* portAudioLoadError();

// The library loaded (or asked for), e.g. "libportaudio.so.2".
const char* portAudioLibrary();

}  // namespace spoken_digits
