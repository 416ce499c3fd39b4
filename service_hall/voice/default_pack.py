"""The default voice pack shipped with the project: the fallback a board plays when its hall has
no complete pack and the device has no Mandarin voice. Generated once from espeak-ng's Mandarin
voice (robotic, but intelligible) and committed as small WAV files under ``static/default/``.

Regenerate (Debian: ``apt-get install espeak-ng sox``)::

    python -m service_hall.voice.default_pack
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from service_hall.voice.audio import trim_wav
from service_hall.voice.segments import SEGMENTS

FOLDER = Path(__file__).resolve().parent / "static" / "default"
RATE = 16000


@functools.cache
def default_keys() -> tuple[str, ...]:
    """The segments the shipped pack has (all of them, unless a file was removed)."""
    return tuple(key for key in SEGMENTS if (FOLDER / f"{key}.wav").is_file())


def generate(folder: Path = FOLDER) -> list[Path]:
    """Speak every segment with espeak-ng (cmn), resample to 16 kHz mono, trim silence."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install espeak-ng sox")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for key, text in SEGMENTS.items():
            raw, resampled = Path(scratch) / f"{key}.raw.wav", Path(scratch) / f"{key}.wav"
            subprocess.run(["espeak-ng", "-v", "cmn", "-s", "150", "-w", str(raw), text],
                           check=True)
            subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16",
                            str(resampled), "gain", "-n", "-1"], check=True)
            trimmed, _ = trim_wav(resampled.read_bytes())
            target = folder / f"{key}.wav"
            target.write_bytes(trimmed)
            written.append(target)
    return written


if __name__ == "__main__":
    paths = generate()
    size = sum(path.stat().st_size for path in paths)
    print(f"wrote {len(paths)} segments to {FOLDER} ({size // 1024} KB)", file=sys.stderr)
