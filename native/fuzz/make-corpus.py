#!/usr/bin/env python3
"""Writes the committed seed corpus (native/fuzz/corpus/): FSDD clips, hand-made broken inputs.

Run once from the repository root: python3 native/fuzz/make-corpus.py /path/to/fsdd/recordings
Seeds are kept small (whole corpus well under 1 MB); libFuzzer grows its own working corpus in
build/fuzz/corpus/. The FuzzedDataProvider reads integers (config, modes) from the END of an
input and sample bytes from the start, so a raw WAV clip is already a useful seed: real speech
as int16 PCM, with whatever config its last bytes select.
"""
import math, os, random, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
fsdd = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/fsdd/recordings'
rng = random.Random(6)
clips = ['0_george_0.wav', '3_jackson_1.wav', '5_nicolas_2.wav', '7_theo_3.wav', '9_yweweler_4.wav', '1_lucas_0.wav']

def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

def clip(name, limit):
    with open(os.path.join(fsdd, name), 'rb') as f:
        return f.read()[:limit]

floats = lambda xs: struct.pack('<%df' % len(xs), *xs)
broken_samples = {
    'nan': floats([math.nan] * 512),
    'inf': floats([math.inf, -math.inf] * 256),
    'huge': floats([3.0e38, -3.0e38] * 256),
    'denormal': floats([1e-44] * 512),
    'zeros': bytes(2048),
    'one-byte': b'\x01',
    'empty': b'',
    'nan-in-speech': clip(clips[0], 3000) + floats([math.nan]) + clip(clips[0], 3000)[44:],
}
for t, limit in (('features_fuzz', 6000), ('resampler_fuzz', 4000), ('wsola_fuzz', 4000), ('vad_fuzz', 12000)):
    for c in clips[: 6 if t not in ('resampler_fuzz', 'wsola_fuzz') else 4]:
        put(t, 'fsdd-' + c.replace('.wav', ''), clip(c, limit))
    for k, v in broken_samples.items():
        put(t, k, v)

# Ring buffer: op streams (the provider reads ops from the end, so random bytes are fine seeds).
for i in range(4):
    put('ring_buffer_fuzz', 'ops-%d' % i, bytes(rng.randrange(256) for _ in range(64 * (i + 1))))

# WAV decoder: three real clips, then hand-made broken files.
def riff(chunks, riff_size=None, form=b'WAVE'):
    body = form + b''.join(chunks)
    return b'RIFF' + struct.pack('<I', len(body) if riff_size is None else riff_size) + body

def chunk(cid, payload, size=None, pad=True):
    data = cid + struct.pack('<I', len(payload) if size is None else size) + payload
    return data + (b'\0' if pad and len(payload) % 2 else b'')

def fmt(tag=1, ch=1, rate=8000, bits=16, size=None, extra=b''):
    block = ch * bits // 8
    return chunk(b'fmt ', struct.pack('<HHIIHH', tag, ch, rate, rate * block, block, bits) + extra, size)

pcm = struct.pack('<64h', *[int(8000 * math.sin(i / 3)) for i in range(64)])
for c in clips[:3]:
    put('wav_decoder', 'fsdd-' + c.replace('.wav', ''), clip(c, 1 << 20))
wavs = {
    'truncated-header': riff([fmt(), chunk(b'data', pcm)])[:30],
    'data-size-huge': riff([fmt(), chunk(b'data', pcm, size=0xFFFFFFF0)]),
    'riff-size-lies': riff([fmt(), chunk(b'data', pcm)], riff_size=0xFFFFFFFF),
    'fmt-size-huge': riff([fmt(size=0x7FFFFFFF), chunk(b'data', pcm)]),
    'zero-channels': riff([fmt(ch=0), chunk(b'data', pcm)]),
    'zero-rate': riff([fmt(rate=0), chunk(b'data', pcm)]),
    'giga-rate': riff([fmt(rate=1_000_000_000), chunk(b'data', pcm)]),
    'bits-7': riff([fmt(bits=7), chunk(b'data', pcm)]),
    'float-nan': riff([fmt(tag=3, bits=32), chunk(b'data', floats([math.nan, math.inf, 1e30, -0.5] * 16))]),
    'odd-list-chunk': riff([fmt(), chunk(b'LIST', b'INFOx'), chunk(b'data', pcm)]),
    'cue-then-data-odd': riff([fmt(), chunk(b'cue ', b'\1\0\0\0' + bytes(24)), chunk(b'data', pcm[:63])]),
    'extensible-bad-subformat': riff([fmt(tag=0xFFFE, size=40, extra=struct.pack('<HHI', 22, 16, 3) + bytes(16)), chunk(b'data', pcm)]),
    'no-data-chunk': riff([fmt()]),
    'data-before-fmt': riff([chunk(b'data', pcm), fmt()]),
    'rifx-big-endian': b'RIFX' + riff([fmt(), chunk(b'data', pcm)])[4:],
    'png-renamed': b'\x89PNG\r\n\x1a\n' + bytes(64),
    'text-renamed': b'this is not a wav file\n' * 4,
    'onnx-renamed': b'\x08\x07\x12\x0bspoken-digits' + bytes(32),
    'empty': b'',
    # What a stream carries (`digits listen --input -`): WAVs one after another (an odd data chunk and
    # its pad, a LIST chunk between them), and a pipe writer's open-ended sizes (0 and 0xFFFFFFFF).
    'two-wavs-list-between': riff([fmt(), chunk(b'data', pcm[:63])]) + chunk(b'LIST', b'INFOx') + riff([fmt(), chunk(b'data', pcm)]),
    'pipe-sizes-zero': riff([fmt(), chunk(b'data', pcm, size=0)], riff_size=0),
    'pipe-sizes-max': riff([fmt(), chunk(b'data', pcm, size=0xFFFFFFFF)], riff_size=0xFFFFFFFF),
}
for k, v in wavs.items():
    put('wav_decoder', k + '.wav', v)
total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(root) for f in fs)
print('corpus bytes:', total)
