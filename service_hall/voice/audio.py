"""Audio clips of a voice pack: what formats are accepted, and silence trimmed from WAV.

Browsers record WebM/Opus; the recording page turns it into 16-bit PCM WAV before upload, so the
server can trim it (and packs uploaded as WAV) with the standard library alone."""
from __future__ import annotations

import array
import io
import sys
import wave

MAX_BYTES = 1024 * 1024  # one spoken word is a few tens of KB
# (mime, file extension, magic test)
FORMATS = (
    ("audio/wav", "wav", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
    ("audio/ogg", "ogg", lambda b: b[:4] == b"OggS"),
    ("audio/webm", "webm", lambda b: b[:4] == b"\x1a\x45\xdf\xa3"),
    ("audio/mpeg", "mp3", lambda b: b[:3] == b"ID3" or b[:2] in (b"\xff\xfb", b"\xff\xf3")),
)
EXTENSIONS = {ext: mime for mime, ext, _ in FORMATS}
SILENCE_FLOOR = 400      # of 32767: below this peak a clip is silence
SILENCE_SHARE = 0.06     # samples under 6% of the clip's peak at either end are trimmed
PAD_SECONDS = 0.03       # kept around the sound so words do not start clipped


class BadAudio(ValueError):
    """A clip that cannot be stored: unknown format, unreadable, too large or silent."""


def sniff(data: bytes) -> tuple[str, str]:
    """(mime, extension) of a clip, from its first bytes."""
    if not data:
        raise BadAudio("empty")
    if len(data) > MAX_BYTES:
        raise BadAudio("too_large")
    for mime, ext, test in FORMATS:
        if test(data):
            return mime, ext
    raise BadAudio("format")


def trim_wav(data: bytes) -> tuple[bytes, int]:
    """Trim silence at both ends of a 16-bit PCM WAV; returns (wav, duration in ms)."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            channels, width, rate = (reader.getnchannels(), reader.getsampwidth(),
                                     reader.getframerate())
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise BadAudio("format") from exc
    if width != 2 or channels not in (1, 2) or not 8000 <= rate <= 96000:
        raise BadAudio("format")
    samples = array.array("h")
    samples.frombytes(frames[:len(frames) - len(frames) % (2 * channels)])
    if sys.byteorder == "big":
        samples.byteswap()
    count = len(samples) // channels
    loudness = [max(abs(samples[i * channels + c]) for c in range(channels))
                for i in range(count)]
    peak = max(loudness, default=0)
    if peak < SILENCE_FLOOR:
        raise BadAudio("silent")
    threshold = max(SILENCE_FLOOR // 2, int(peak * SILENCE_SHARE))
    first = next(i for i, v in enumerate(loudness) if v >= threshold)
    last = count - next(i for i, v in enumerate(reversed(loudness)) if v >= threshold)
    pad = int(rate * PAD_SECONDS)
    start, end = max(0, first - pad), min(count, last + pad)
    kept = samples[start * channels:end * channels]
    if sys.byteorder == "big":
        kept.byteswap()
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(kept.tobytes())
    return out.getvalue(), round((end - start) * 1000 / rate)


def prepare(data: bytes) -> tuple[bytes, str, int]:
    """A clip ready to store: (bytes, mime, duration in ms; 0 when not measured)."""
    mime, _ = sniff(data)
    if mime == "audio/wav":
        trimmed, duration = trim_wav(data)
        return trimmed, mime, duration
    return data, mime, 0
