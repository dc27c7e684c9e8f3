// Error reporting inside the core: functions return a Status instead of throwing, so the C API
// (and through it both bindings) gets the same code and message for the same mistake.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "sd_dsp.h"

namespace sd {

struct Status {
  int code = SD_OK;
  char message[SD_ERROR_MESSAGE_SIZE] = {0};

  bool ok() const { return code == SD_OK; }

#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  static Status
  error(int code, const char *fmt, ...) {
    Status s;
    s.code = code;
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(s.message, sizeof s.message, fmt, args);
    va_end(args);
    return s;
  }

  void copy_to(sd_error *err) const {
    if (!err) return;
    err->code = code;
    std::memcpy(err->message, message, sizeof err->message);
    err->message[SD_ERROR_MESSAGE_SIZE - 1] = '\0';
  }
};

}  // namespace sd
