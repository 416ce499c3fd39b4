"""Voice packs (issue 21): record, replace, remove, import and export a hall's segments.
Plain functions: they flush and audit; the caller owns the transaction."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.catalog.models import Hall
from service_hall.errors import ApiError, forbidden, not_found, unprocessable
from service_hall.extensions import db
from service_hall.voice.audio import EXTENSIONS, MAX_BYTES, BadAudio, prepare
from service_hall.voice.models import VoiceSegment
from service_hall.voice.segments import SEGMENTS

AUDIO_ERRORS = {
    "empty": "录音为空 (the clip is empty)",
    "too_large": "录音超过 1 MB (the clip is larger than 1 MB)",
    "format": "只接受 WAV、OGG、WebM、MP3 音频 (only WAV, OGG, WebM or MP3 audio)",
    "silent": "录音中没有声音 (the clip is silent)",
}
MAX_ZIP_BYTES = len(SEGMENTS) * MAX_BYTES


def assert_keeps_pack(actor: Actor, hall: Hall) -> None:
    """Administrators keep the packs of the halls they may see (SPEC 7 scope)."""
    if actor.kind != "user" or actor.role != "admin" or not actor.may_see_hall(hall):
        raise forbidden()


def segment_key(key: str) -> str:
    if key not in SEGMENTS:
        raise not_found(f"没有这个语音片段 (no such segment): {key[:20]}", "unknown_segment")
    return key


def _audio_error(exc: BadAudio, key: str) -> ApiError:
    return unprocessable(f"{SEGMENTS.get(key, key[:20])}：{AUDIO_ERRORS[str(exc)]}",
                         f"audio_{exc}")


def hall_segments(hall: Hall) -> dict[str, VoiceSegment]:
    rows = db.session.scalars(select(VoiceSegment).where(VoiceSegment.hall_id == hall.id))
    return {row.key: row for row in rows}


def save_segment(hall: Hall, key: str, data: bytes, *, actor: Actor,
                 now: datetime) -> VoiceSegment:
    """Store (or replace) one segment of the hall's pack; WAV is trimmed of silence at both
    ends. A clip that is not audio, too large or silent is refused and nothing is written."""
    assert_keeps_pack(actor, hall)
    segment_key(key)
    try:
        audio, mime, duration = prepare(data)
    except BadAudio as exc:
        raise _audio_error(exc, key) from exc
    row = hall_segments(hall).get(key)
    action = "voice.replace" if row is not None else "voice.record"
    if row is None:
        row = VoiceSegment(hall_id=hall.id, key=key)
        db.session.add(row)
    row.audio, row.mime, row.duration_ms, row.updated_at = audio, mime, duration, now
    db.session.flush()
    audit(actor, action, "voice_segment", row.id, hall_id=hall.id,
          details={"key": key, "bytes": len(audio), "duration_ms": duration})
    return row


def delete_segment(hall: Hall, key: str, *, actor: Actor) -> None:
    """Remove one segment: the board falls back to the device's voice or the default pack."""
    assert_keeps_pack(actor, hall)
    row = hall_segments(hall).get(segment_key(key))
    if row is None:
        raise not_found(f"{SEGMENTS[key]}：尚未录制 (not recorded)", "not_recorded")
    audit(actor, "voice.delete", "voice_segment", row.id, hall_id=hall.id, details={"key": key})
    db.session.delete(row)
    db.session.flush()


@dataclass
class ImportResult:
    saved: list[str]
    ignored: list[str]


def import_zip(hall: Hall, data: bytes, *, actor: Actor, now: datetime) -> ImportResult:
    """A pack uploaded as a zip of ``<segment key>.<wav|ogg|webm|mp3>`` files (any folder).
    All or nothing: one bad clip refuses the whole upload, naming it."""
    assert_keeps_pack(actor, hall)
    if len(data) > MAX_ZIP_BYTES:
        raise unprocessable("压缩包过大 (the zip is too large)", "zip_too_large")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError) as exc:
        raise unprocessable("不是有效的 zip 压缩包 (not a zip file)", "zip_invalid") from exc
    saved, ignored = [], []
    for info in entries:
        name = info.filename.rsplit("/", 1)[-1]
        key, _, ext = name.rpartition(".")
        if key not in SEGMENTS or ext.lower() not in EXTENSIONS or name.startswith("."):
            ignored.append(name[:60])
            continue
        if info.file_size > MAX_BYTES:
            raise _audio_error(BadAudio("too_large"), key)
        save_segment(hall, key, archive.read(info), actor=actor, now=now)
        saved.append(key)
    if not saved:
        raise unprocessable("压缩包中没有可用的语音片段，文件名应为片段编号，如 qing.wav "
                            "(no segment files: name them by key, e.g. qing.wav)", "zip_empty")
    return ImportResult(saved=saved, ignored=ignored)


def export_zip(hall: Hall) -> bytes:
    """The hall's recorded segments as a zip that ``import_zip`` takes back unchanged."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, row in sorted(hall_segments(hall).items()):
            ext = next(e for e, mime in EXTENSIONS.items() if mime == row.mime)
            info = zipfile.ZipInfo(f"{key}.{ext}", date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, row.audio, zipfile.ZIP_DEFLATED)
    return out.getvalue()
