// The C API: the only entry points the bindings use. Nothing thrown inside the core crosses it.
#include <new>

#include "features.hpp"
#include "resampler.hpp"
#include "sd_dsp.h"

struct sd_extractor {
  sd::FeatureExtractor *impl;
};
struct sd_resampler {
  sd::Resampler *impl;
};

namespace {

void fail(sd_error *err, int code, const char *message) { sd::Status::error(code, "%s", message).copy_to(err); }

}  // namespace

extern "C" {

sd_extractor *sd_extractor_create(const double *params, int32_t n_params, sd_error *err) {
  try {
    sd::FeatureParams p;
    sd::Status s = sd::parse_feature_params(params, n_params, p);
    if (!s.ok()) {
      s.copy_to(err);
      return nullptr;
    }
    sd::FeatureExtractor *impl = nullptr;
    s = sd::FeatureExtractor::create(p, impl);
    if (!s.ok()) {
      s.copy_to(err);
      return nullptr;
    }
    sd_extractor *ex = new (std::nothrow) sd_extractor{impl};
    if (!ex) {
      delete impl;
      fail(err, SD_ERR_NOMEM, "out of memory creating the feature extractor");
      return nullptr;
    }
    sd::Status().copy_to(err);
    return ex;
  } catch (const std::bad_alloc &) {
    fail(err, SD_ERR_NOMEM, "out of memory creating the feature extractor");
  } catch (...) {
    fail(err, SD_ERR_INTERNAL, "unexpected failure creating the feature extractor");
  }
  return nullptr;
}

void sd_extractor_destroy(sd_extractor *ex) {
  if (!ex) return;
  delete ex->impl;
  delete ex;
}

int32_t sd_extractor_dims(const sd_extractor *ex) { return ex ? ex->impl->dims() : 0; }

int32_t sd_extractor_frames(const sd_extractor *ex, int32_t n_samples) {
  return ex ? ex->impl->frames_for(n_samples) : 0;
}

int32_t sd_extractor_compute(sd_extractor *ex, const float *samples, int32_t n_samples, float *out,
                             int32_t out_capacity, sd_error *err) {
  if (!ex) {
    fail(err, SD_ERR_INTERNAL, "feature extractor is null (disposed?)");
    return -1;
  }
  try {
    sd::Status s;
    const int32_t frames = ex->impl->compute(samples, n_samples, out, out_capacity, s);
    s.copy_to(err);
    return frames;
  } catch (const std::bad_alloc &) {
    fail(err, SD_ERR_NOMEM, "out of memory computing features");
  } catch (...) {
    fail(err, SD_ERR_INTERNAL, "unexpected failure computing features");
  }
  return -1;
}

sd_resampler *sd_resampler_create(int32_t from_rate, int32_t to_rate, sd_error *err) {
  try {
    sd::Resampler *impl = nullptr;
    sd::Status s = sd::Resampler::create(from_rate, to_rate, impl);
    if (!s.ok()) {
      s.copy_to(err);
      return nullptr;
    }
    sd_resampler *rs = new (std::nothrow) sd_resampler{impl};
    if (!rs) {
      delete impl;
      fail(err, SD_ERR_NOMEM, "out of memory creating a resampler");
      return nullptr;
    }
    sd::Status().copy_to(err);
    return rs;
  } catch (const std::bad_alloc &) {
    fail(err, SD_ERR_NOMEM, "out of memory creating a resampler");
  } catch (...) {
    fail(err, SD_ERR_INTERNAL, "unexpected failure creating a resampler");
  }
  return nullptr;
}

void sd_resampler_destroy(sd_resampler *rs) {
  if (!rs) return;
  delete rs->impl;
  delete rs;
}

int32_t sd_resampler_output_length(const sd_resampler *rs, int32_t n_samples) {
  if (!rs) return 0;
  const int64_t n = rs->impl->output_length(n_samples);
  return n > INT32_MAX ? 0 : static_cast<int32_t>(n);
}

int32_t sd_resampler_process(sd_resampler *rs, const float *in, int32_t n_in, float *out, int32_t out_capacity,
                             sd_error *err) {
  if (!rs) {
    fail(err, SD_ERR_INTERNAL, "resampler is null (disposed?)");
    return -1;
  }
  try {
    sd::Status s;
    const int32_t n = rs->impl->process(in, n_in, out, out_capacity, s);
    s.copy_to(err);
    return n;
  } catch (...) {
    fail(err, SD_ERR_INTERNAL, "unexpected failure resampling");
  }
  return -1;
}

}  // extern "C"
