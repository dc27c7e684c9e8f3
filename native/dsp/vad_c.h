// Plain C surface of the VAD for the WebAssembly build (and any other C caller). Sample positions
// are doubles so JavaScript reads them without BigInt; they are exact up to 2^53 samples.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_vad sd_vad;

// Returns NULL when the parameters are invalid; sd_vad_last_error() says why. Every VadConfig
// setting a caller may change (vad.h; durations in milliseconds, levels in dBFS); NaN keeps its default.
sd_vad* sd_vad_create(int sample_rate, float sensitivity, float onset_ms, float hangover_ms, float min_speech_ms,
                      float max_speech_ms, float min_voiced_ms, float pre_roll_ms, float post_roll_ms,
                      float min_level_db, float initial_noise_db);
const char* sd_vad_last_error(void);
void sd_vad_destroy(sd_vad* vad);
void sd_vad_reset(sd_vad* vad);

// Feeds n samples. Writes up to max_events events as 4 doubles each: type (0 start, 1 end,
// 2 abort), reason, start sample, end sample. Returns the number of events found (may exceed
// max_events; the extra ones are lost, so pass room for a few).
int sd_vad_process(sd_vad* vad, const float* samples, int n, double* events, int max_events);
int sd_vad_flush(sd_vad* vad, double* events, int max_events);

// out[0..6]: peak level dBFS since the last call, noise floor dB, in speech (0/1), samples seen,
// last band energy dB, open segment would be kept if it ended now (0/1), samples since its last speech.
void sd_vad_state(sd_vad* vad, double* out);

// Energy valleys usable as cut points inside one segment; writes up to max_valleys triples
// (sample offset, depth dB, low-stretch ms). Returns the number found.
int sd_find_valleys(const float* samples, int n, int sample_rate, float min_depth_db, float min_piece_ms, double* out, int max_valleys);

// Raw band contour (dB per 10 ms hop, see bandContourHops in vad.h) of hops [first_hop, n / hop)
// into out (room for max_out values). Returns the first hop that changes when samples are appended,
// or -1 for bad arguments (no samples, rate under 4000 Hz, too little room).
int sd_band_contour(const float* samples, int n, int sample_rate, int first_hop, float* out, int max_out);

// sd_find_valleys on a contour sd_band_contour made (from hop 0).
int sd_contour_valleys(const float* band_db, int hops, int sample_rate, float min_depth_db, float min_piece_ms, double* out, int max_valleys);

// Speech extent inside a segment (see findSpeechExtent in vad.h); writes start and end sample to
// out[0..1]. Returns 1, or 0 when nothing stands out.
int sd_speech_extent(const float* samples, int n, int sample_rate, float drop_db, float margin_ms, float keep_within_db, double* out);

// sd_speech_extent of `n` samples from their contour as sd_band_contour made it (from hop 0, n / hop
// values), without analysing the samples again. Returns -1 for bad arguments (a contour that is not
// of `n` samples, a rate under 4000 Hz).
int sd_contour_speech_extent(const float* band_db, int hops, int n, int sample_rate, float drop_db, float margin_ms, float keep_within_db, double* out);

#ifdef __cplusplus
}
#endif
