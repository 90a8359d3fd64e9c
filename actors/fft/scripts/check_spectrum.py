#!/usr/bin/env python3
# Verifies `warden analyze --json --spectrum` against numpy (not needed by CI).
# Usage: warden analyze FILE.wav --json --spectrum --frame N --hop H | python3 check_spectrum.py FILE.wav N H
# (16/32-bit PCM WAV in the canonical format that Python's `wave` module reads.)
# Check `warden analyze --json --spectrum` against numpy: for every frame,
# magnitude == |rfft(m[n*hop : n*hop+N] * hanning(N))| where m is the mono
# mix (mean of channels) of the WAV zero-padded by N/2 on both sides.
import json, sys, wave
import numpy as np

path, frame, hop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with wave.open(path) as w:
    ch, width = w.getnchannels(), w.getsampwidth()
    raw = np.frombuffer(w.readframes(w.getnframes()), dtype={2: "<i2", 4: "<i4"}[width])
x = raw.reshape(-1, ch).astype(np.float64) / (2.0 ** (8 * width - 1))
mono = x.mean(axis=1)
padded = np.pad(mono, (frame // 2, frame))
win = np.hanning(frame)
worst, frames = 0.0, 0
for line in sys.stdin:
    obj = json.loads(line)
    if "magnitude" not in obj:
        continue
    n = obj["seq"]
    assert abs(obj["t"] - n * hop / w.getframerate()) < 1e-9
    ref = np.abs(np.fft.rfft(padded[n * hop : n * hop + frame] * win))
    ours = np.array(obj["magnitude"])
    peak = ref.max()
    if peak > 0:
        worst = max(worst, np.abs(ours - ref).max() / peak)
    frames += 1
print(f"{path}: {frames} frames, frame {frame}, hop {hop}: worst |ours - numpy| / peak = {worst:.2e}")
sys.exit(0 if worst < 1e-4 else 1)
