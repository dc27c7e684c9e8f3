// The shared harness of the C++ core tests: CHECK records a failure (file:line + printf-style
// message) and carries on, so one run reports every broken property; finish() prints the summary
// and gives main's exit code.
#pragma once

#include <cstdio>

namespace spoken_digits_test {

// One counter pair per test executable (each *_test.cpp is its own program).
inline int failures = 0;
inline int checks = 0;

inline int finish(const char *name) {
  if (failures) {
    std::fprintf(stderr, "%s: %d of %d checks failed\n", name, failures, checks);
    return 1;
  }
  std::printf("%s: %d checks passed\n", name, checks);
  return 0;
}

}  // namespace spoken_digits_test

#define CHECK(cond, ...)                                        \
  do {                                                          \
    ++spoken_digits_test::checks;                               \
    if (!(cond)) {                                              \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                        \
      std::fprintf(stderr, "\n");                               \
      ++spoken_digits_test::failures;                           \
    }                                                           \
  } while (0)
