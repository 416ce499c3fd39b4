"""The display board's chime is a real, short WAV made by windows/chime.py and served locally."""
from __future__ import annotations

import io
import wave

from windows.chime import PATH, chime_wav


def test_committed_chime_is_what_the_generator_makes():
    assert PATH.read_bytes() == chime_wav(), "run python -m windows.chime"


def test_chime_is_short_audible_mono_pcm(client):
    answer = client.get("/static/windows/chime.wav")
    assert answer.status_code == 200
    with wave.open(io.BytesIO(answer.data)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        seconds = wav.getnframes() / wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    assert 0.8 < seconds < 2.0
    samples = memoryview(frames).cast("h")
    assert max(abs(s) for s in samples) > 8000  # loud enough to hear, not silence
    assert abs(samples[0]) < 200 and abs(samples[-1]) < 200  # no click at either end
