"""The display board's chime: a two-tone "ding-dong" made here, served as a local WAV file.

``python -m windows.chime`` rewrites ``windows/static/chime.wav``; the test checks that
the committed file is exactly what this code makes.
"""
from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

RATE = 22050
TONES = ((659.25, 0.45), (523.25, 0.75))  # E5 then C5, seconds
VOLUME = 0.5
PATH = Path(__file__).resolve().parent / "static" / "chime.wav"


def _tone(frequency: float, seconds: float) -> list[int]:
    count = int(RATE * seconds)
    samples = []
    for i in range(count):
        t = i / RATE
        attack = min(1.0, t / 0.01)                   # no click at the start
        decay = math.exp(-3.2 * t / seconds)          # bell-like fade
        tail = min(1.0, (count - i) / (RATE * 0.02))  # no click at the end
        value = (math.sin(2 * math.pi * frequency * t)
                 + 0.3 * math.sin(2 * math.pi * 2 * frequency * t)) / 1.3
        samples.append(int(32767 * VOLUME * attack * decay * tail * value))
    return samples


def chime_wav() -> bytes:
    samples = [s for frequency, seconds in TONES for s in _tone(frequency, seconds)]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


if __name__ == "__main__":
    PATH.write_bytes(chime_wav())
    print(f"wrote {PATH} ({PATH.stat().st_size} bytes)")
