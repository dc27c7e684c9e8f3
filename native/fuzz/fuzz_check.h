// The oracle check of the libFuzzer targets: a failed CHECK prints the target, the condition and a
// printf-style message, then aborts so libFuzzer records the input as a finding.
//
// Before including, a target defines FUZZ_TARGET_NAME ("vad_fuzz") and may define
// FUZZ_CHECK_CONTEXT() to print more state (e.g. the config being run) before the abort.
#pragma once

#include <cstdio>
#include <cstdlib>

#ifndef FUZZ_TARGET_NAME
#error "define FUZZ_TARGET_NAME before including fuzz_check.h"
#endif
#ifndef FUZZ_CHECK_CONTEXT
#define FUZZ_CHECK_CONTEXT() ((void)0)
#endif

#define CHECK(cond, ...)                                                         \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s: check failed: %s: ", FUZZ_TARGET_NAME, #cond);   \
      std::fprintf(stderr, __VA_ARGS__);                                         \
      std::fprintf(stderr, "\n");                                                \
      FUZZ_CHECK_CONTEXT();                                                      \
      std::abort();                                                              \
    }                                                                            \
  } while (0)
