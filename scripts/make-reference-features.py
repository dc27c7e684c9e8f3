#!/usr/bin/python3
"""Third-party reference features for test/reference-features.test.ts.

Computes log-mel and MFCC with torchaudio (Debian's python3-torchaudio; librosa is not packaged)
using librosa's definitions: torch.stft with centre padding and a periodic window zero-padded to
n_fft, |X|^2 (or |X|), torchaudio.functional.melscale_fbanks (slaney or htk scale, slaney area norm
or none), amplitude_to_DB (= librosa power_to_db: amin, ref, top_db against the clip peak),
create_dct(norm='ortho') (= DCT-II ortho, librosa's mfcc), compute_deltas (replicate edges).
PCEN (neither torchaudio nor Debian has one) is our own reading of librosa.pcen's formula, in numpy
below on torchaudio's mel energies: a check of the C++ arithmetic, not a third party's code.
Everything runs in float64, so the fixtures are a precise target for the float32 core.

Writes test/fixtures/reference-features/{index.json,data.bin}: the input signals themselves (FSDD
clips and synthetic ones) and the expected features, all float32 little-endian, so the tests need
neither Python nor the dataset.

Usage: /usr/bin/python3 scripts/make-reference-features.py [--fsdd DIR]
"""
import argparse
import json
import math
import os
import wave

import numpy as np
import torch
import torchaudio.functional as AF

torch.set_default_dtype(torch.float64)  # melscale_fbanks builds its grid with the default dtype

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "reference-features")
SR = 8000

BASE = {
    "sampleRate": SR, "kind": "mfcc", "nFft": 256, "winLength": 200, "hopLength": 80, "window": "hann",
    "center": True, "padMode": "constant", "preEmphasis": 0, "power": 2, "nMels": 40, "fMin": 20,
    "fMax": 4000, "melScale": "slaney", "melNorm": "slaney",
    "log": {"type": "db", "amin": 1e-10, "topDb": 80, "ref": 1}, "nMfcc": 20, "deltas": 0,
    "deltaWidth": 9, "numFrames": 0, "normalization": None,
}

# name -> FeatureConfig (complete, numFrames 0 = natural length, which is what the reference computes)
CONFIGS = {
    "default-logmel": {**BASE, "kind": "logmel"},
    "default-mfcc": {**BASE},
    # hamming, reflect padding, pre-emphasis, HTK scale without norm, peak reference, no top_db, deltas
    "htk-mfcc-deltas": {**BASE, "nFft": 512, "winLength": 400, "hopLength": 160, "window": "hamming",
                        "padMode": "reflect", "preEmphasis": 0.97, "nMels": 64, "fMin": 0, "melScale": "htk",
                        "melNorm": "none", "log": {"type": "db", "amin": 1e-10, "topDb": None, "ref": "max"},
                        "nMfcc": 13, "deltas": 2, "deltaWidth": 5},
    "htk-logmel-topdb": {**BASE, "kind": "logmel", "nFft": 512, "winLength": 512, "hopLength": 128, "window": "hann",
                         "melScale": "htk", "nMels": 64, "fMin": 0, "fMax": 3800,
                         "log": {"type": "db", "amin": 1e-5, "topDb": 60, "ref": "max"}},
    # magnitude spectrum, natural log with a floor, no centre padding
    "ln-magnitude-logmel": {**BASE, "kind": "logmel", "center": False, "power": 1, "nMels": 32,
                            "log": {"type": "ln", "floor": 1e-6}},
    "spectrogram-db": {**BASE, "kind": "spectrogram", "nFft": 128, "winLength": 128, "hopLength": 64,
                       "log": {"type": "db", "amin": 1e-10, "topDb": 80, "ref": "max"}},
    # per-channel energy normalization: librosa.pcen's defaults, and a short smoother without the eps floor
    "pcen-logmel": {**BASE, "kind": "logmel", "nMels": 32, "hopLength": 128,
                    "log": {"type": "pcen", "timeConstant": 0.4, "gain": 0.98, "bias": 2, "power": 0.5, "eps": 1e-6}},
    "pcen-mfcc-fast": {**BASE, "log": {"type": "pcen", "timeConstant": 0.06, "gain": 0.8, "bias": 10, "power": 0.25,
                                       "eps": 1e-12}},
}


def pcen(s: np.ndarray, log: dict, hop: int) -> np.ndarray:
    """librosa.pcen's formula on a (bands, time) energy array: a one-pole smoother per band, gain control,
    root compression; the time constant turned into the smoother's coefficient as librosa does. Unlike
    librosa (whose smoother starts at 1, for int32-scaled input), the smoother starts at the first frame. Frames of exact silence (all energy 0: a clip's digital zeros) give 0 and leave the
    smoother alone, so it starts at the first frame with sound."""
    t = log["timeConstant"] * SR / hop
    b = (math.sqrt(1 + 4 * t * t) - 1) / (2 * t * t)
    out = np.zeros_like(s)
    m = None
    for j in range(s.shape[1]):
        e = s[:, j]
        if not e.any():
            continue
        m = e.copy() if m is None else (1 - b) * m + b * e
        out[:, j] = (e / (log["eps"] + m) ** log["gain"] + log["bias"]) ** log["power"] - log["bias"] ** log["power"]
    return out


def features(x: np.ndarray, c: dict) -> np.ndarray:
    """[frames x dims] float64, librosa definitions via torchaudio."""
    y = x.astype(np.float64)
    if c["preEmphasis"]:
        y = np.concatenate([y[:1], y[1:] - c["preEmphasis"] * y[:-1]])
    wfn = torch.hann_window if c["window"] == "hann" else torch.hamming_window
    window = wfn(c["winLength"], periodic=True, dtype=torch.float64)
    if c["center"]:
        # numpy's pad, like librosa: torch's reflect pad refuses pads longer than the clip.
        y = np.pad(y, c["nFft"] // 2, mode="reflect" if c["padMode"] == "reflect" else "constant")
    if len(y) < c["nFft"]:
        y = np.pad(y, (0, c["nFft"] - len(y)))  # the core zero-extends to one frame
    spec = torch.stft(torch.from_numpy(y), n_fft=c["nFft"], hop_length=c["hopLength"], win_length=c["winLength"],
                      window=window, center=False, return_complex=True)
    s = spec.abs() ** 2 if c["power"] == 2 else spec.abs()  # (freq, time)
    if c["kind"] != "spectrogram":
        fb = AF.melscale_fbanks(c["nFft"] // 2 + 1, float(c["fMin"]), float(c["fMax"]), c["nMels"], c["sampleRate"],
                                norm="slaney" if c["melNorm"] == "slaney" else None, mel_scale=c["melScale"])
        s = (s.T @ fb).T  # (mels, time)
    log = c["log"]
    if log["type"] == "db":
        ref = float(s.max()) if log["ref"] == "max" else float(log["ref"])
        s = AF.amplitude_to_DB(s, 10.0, log["amin"], math.log10(max(log["amin"], ref)), log["topDb"])
    elif log["type"] == "ln":
        s = torch.log(s + log["floor"])
    else:
        s = torch.from_numpy(pcen(s.numpy(), log, c["hopLength"]))
    if c["kind"] == "mfcc":
        dct = AF.create_dct(c["nMfcc"], c["nMels"], norm="ortho")  # (mels, mfcc)
        s = (s.T @ dct).T
    parts = [s]
    for _ in range(c["deltas"]):
        parts.append(AF.compute_deltas(parts[-1], win_length=c["deltaWidth"], mode="replicate"))
    return torch.cat(parts, dim=0).T.contiguous().numpy()


def read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == SR, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def synthetic() -> dict:
    n = np.arange(SR, dtype=np.float64)
    rng = np.random.default_rng(20240601)
    sig = {
        "sine-440": 0.5 * np.sin(2 * np.pi * 440 * n[:4000] / SR),
        "sine-3000-quiet": 0.01 * np.sin(2 * np.pi * 3000 * n[:4000] / SR + 0.3),
        "two-tones": 0.3 * np.sin(2 * np.pi * 250 * n[:6000] / SR) + 0.2 * np.sin(2 * np.pi * 1700 * n[:6000] / SR),
        # linear chirp 100 -> 3900 Hz over 1 s
        "chirp": 0.5 * np.sin(2 * np.pi * (100 * n / SR + 0.5 * 3800 * (n / SR) ** 2)),
        "silence": np.zeros(4000),
        "clipped-sine": np.clip(3.0 * np.sin(2 * np.pi * 300 * n[:4000] / SR), -1, 1),
        "noise-burst": np.concatenate([np.zeros(1500), 0.2 * rng.standard_normal(1000), np.zeros(1500)]),
        "short-100": 0.4 * np.sin(2 * np.pi * 600 * n[:100] / SR),
    }
    return {k: v.astype(np.float32) for k, v in sig.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fsdd", default=os.environ.get("SPOKEN_DIGITS_FSDD", "/work/shared/fsdd/recordings"))
    args = ap.parse_args()
    signals = {}
    # 24 FSDD clips: every digit, all six speakers, takes from both splits.
    speakers = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    for i in range(24):
        name = f"{i % 10}_{speakers[i % 6]}_{(i * 7) % 50}"
        signals[f"fsdd/{name}"] = read_wav(os.path.join(args.fsdd, name + ".wav"))
    for k, v in synthetic().items():
        signals[f"synthetic/{k}"] = v

    os.makedirs(OUT, exist_ok=True)
    blob = bytearray()

    def put(a: np.ndarray) -> dict:
        a32 = np.ascontiguousarray(a, dtype="<f4")
        ref = {"offset": len(blob), "length": int(a32.size)}
        blob.extend(a32.tobytes())
        return ref

    index = {"generator": "scripts/make-reference-features.py",
             "reference": f"torchaudio {__import__('torchaudio').__version__} / torch {torch.__version__}, float64",
             "configs": CONFIGS, "signals": [], "features": []}
    for name, x in signals.items():
        index["signals"].append({"name": name, "samples": put(x)})
    for cname, c in CONFIGS.items():
        # The spectrogram config is wide; the synthetic signals cover it.
        names = [n for n in signals if cname != "spectrogram-db" or n.startswith("synthetic/")]
        for name in names:
            f = features(signals[name], c)
            index["features"].append({"config": cname, "signal": name, "frames": int(f.shape[0]),
                                      "dims": int(f.shape[1]), "data": put(f)})
    with open(os.path.join(OUT, "data.bin"), "wb") as fh:
        fh.write(blob)
    with open(os.path.join(OUT, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")
    print(f"wrote {len(index['signals'])} signals, {len(index['features'])} feature matrices, {len(blob)} bytes")


if __name__ == "__main__":
    main()
