/*
 * spoken-digits DSP core: the C API shared by the Node addon (native/addon) and the WebAssembly
 * build (wasm/). Plain C types only, so both bindings are thin translations. No function lets a C++
 * exception escape; failures return a status and fill an sd_error.
 *
 * Threading: one sd_extractor / sd_resampler must not be used by two threads at once (each keeps
 * scratch buffers so a call allocates nothing once warmed up). Different objects are independent.
 */
#ifndef SPOKEN_DIGITS_SD_DSP_H
#define SPOKEN_DIGITS_SD_DSP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define SD_API EMSCRIPTEN_KEEPALIVE
#else
#define SD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Bindings map them to typed JS errors (src/features/core-abi.ts). */
enum {
  SD_OK = 0,
  SD_ERR_CONFIG = 1,   /* the feature config / parameters make no sense -> FeatureConfigError */
  SD_ERR_INPUT = 2,    /* bad audio or rates (empty, NaN/Inf, unsupported rate) -> AudioInputError */
  SD_ERR_NOMEM = 3,    /* allocation failed */
  SD_ERR_INTERNAL = 4  /* caller bug (output buffer too small, null pointer) */
};

#define SD_ERROR_MESSAGE_SIZE 256
typedef struct sd_error {
  int32_t code;
  char message[SD_ERROR_MESSAGE_SIZE];
} sd_error;

/*
 * A feature config travels as a flat array of doubles so that both bindings pass it through
 * untouched; the TypeScript side (src/features/core-abi.ts) builds it from a FeatureConfig.
 * Layout: SD_P_COUNT fixed values, then, when SD_P_HAS_NORMALIZATION is 1, `dims` means followed
 * by `dims` standard deviations (dims = sd_feature_dims of the config).
 */
enum {
  SD_P_SAMPLE_RATE = 0,
  SD_P_KIND,            /* SD_KIND_* */
  SD_P_N_FFT,
  SD_P_WIN_LENGTH,
  SD_P_HOP_LENGTH,
  SD_P_WINDOW,          /* SD_WINDOW_* */
  SD_P_CENTER,          /* 0/1 */
  SD_P_PAD_MODE,        /* SD_PAD_* */
  SD_P_PRE_EMPHASIS,
  SD_P_POWER,           /* 1 magnitude, 2 power */
  SD_P_N_MELS,
  SD_P_F_MIN,
  SD_P_F_MAX,
  SD_P_MEL_SCALE,       /* SD_MEL_SCALE_* */
  SD_P_MEL_NORM,        /* SD_MEL_NORM_* */
  SD_P_LOG_TYPE,        /* SD_LOG_* */
  SD_P_LOG_AMIN,
  SD_P_LOG_HAS_TOP_DB,  /* 0/1 */
  SD_P_LOG_TOP_DB,
  SD_P_LOG_REF_IS_MAX,  /* 0/1 */
  SD_P_LOG_REF,
  SD_P_LOG_FLOOR,
  SD_P_N_MFCC,
  SD_P_DELTAS,          /* 0, 1, 2 */
  SD_P_DELTA_WIDTH,
  SD_P_NUM_FRAMES,      /* 0 = natural length */
  SD_P_HAS_NORMALIZATION,
  SD_P_PCEN_TIME_CONSTANT, /* seconds; SD_LOG_PCEN only (ignored otherwise) */
  SD_P_PCEN_GAIN,
  SD_P_PCEN_BIAS,
  SD_P_PCEN_POWER,
  SD_P_PCEN_EPS,
  SD_P_COUNT
};

enum { SD_KIND_SPECTROGRAM = 0, SD_KIND_LOGMEL = 1, SD_KIND_MFCC = 2 };
enum { SD_WINDOW_HANN = 0, SD_WINDOW_HAMMING = 1 };
enum { SD_PAD_CONSTANT = 0, SD_PAD_REFLECT = 1 };
enum { SD_MEL_SCALE_SLANEY = 0, SD_MEL_SCALE_HTK = 1 };
enum { SD_MEL_NORM_NONE = 0, SD_MEL_NORM_SLANEY = 1 };
enum { SD_LOG_DB = 0, SD_LOG_LN = 1, SD_LOG_PCEN = 2 };

/* Longest clip accepted by one call, in samples (about 9 minutes at 48 kHz). */
#define SD_MAX_INPUT_SAMPLES (1 << 25)
/* Most feature values one call may return (256 MB of floats). */
#define SD_MAX_OUTPUT_VALUES (1 << 26)

typedef struct sd_extractor sd_extractor;

/* Validates the config and precomputes everything (window, FFT plan, mel weights, DCT matrix).
 * Returns NULL and fills err on failure. */
SD_API sd_extractor *sd_extractor_create(const double *params, int32_t n_params, sd_error *err);
SD_API void sd_extractor_destroy(sd_extractor *ex);
/* Values per output frame (base features times 1 + deltas). */
SD_API int32_t sd_extractor_dims(const sd_extractor *ex);
/* Frames compute() will return for a clip of n_samples (numFrames when it is set); 0 if n_samples
 * is not acceptable (empty, too long, or more than SD_MAX_OUTPUT_VALUES values). */
SD_API int32_t sd_extractor_frames(const sd_extractor *ex, int32_t n_samples);
/* Runs the full pipeline on one clip. `out` must hold sd_extractor_frames(n) * dims floats.
 * Returns the number of frames written, or -1 with err filled. */
SD_API int32_t sd_extractor_compute(sd_extractor *ex, const float *samples, int32_t n_samples, float *out,
                                    int32_t out_capacity, sd_error *err);

/* Band-limited (Kaiser-windowed sinc, polyphase) resampling between integer rates whose ratio
 * reduces to at most SD_RESAMPLER_MAX_PHASES phases. */
#define SD_RESAMPLER_MAX_PHASES 2048
typedef struct sd_resampler sd_resampler;
SD_API sd_resampler *sd_resampler_create(int32_t from_rate, int32_t to_rate, sd_error *err);
SD_API void sd_resampler_destroy(sd_resampler *rs);
/* Output length for n input samples: ceil(n * to / from). */
SD_API int32_t sd_resampler_output_length(const sd_resampler *rs, int32_t n_samples);
/* Whole-clip resampling (zeros assumed outside the clip). Returns samples written or -1. */
SD_API int32_t sd_resampler_process(sd_resampler *rs, const float *in, int32_t n_in, float *out, int32_t out_capacity,
                                    sd_error *err);

/* Waveform-similarity overlap-add time stretch: n_in samples at sample_rate to out_len samples, pitch
 * unchanged (20 ms Hann frames at half overlap, each nudged up to 5 ms to continue the last one's
 * waveform). `out` must hold out_len floats. Returns out_len, or -1 with err filled. */
SD_API int32_t sd_wsola_stretch(const float *in, int32_t n_in, int32_t sample_rate, float *out, int32_t out_len,
                                sd_error *err);
/* The longest input or output sd_wsola_stretch takes (2^25 samples). */
SD_API int32_t sd_wsola_max_samples(void);

#ifdef __cplusplus
}
#endif
#endif
