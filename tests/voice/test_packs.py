"""Voice packs (issue 21): recording, trimming, zip round trip, who may keep a pack, what the
board is told, and the call events that carry the segments."""
from __future__ import annotations

import array
import io
import wave
import zipfile

import pytest
from sqlalchemy import func, select

from realtime.models import Event
from realtime.sync.registry import from_wire, spec_for, to_wire
from service_hall.audit.models import AuditEntry
from service_hall.extensions import db
from service_hall.voice.audio import trim_wav
from service_hall.voice.default_pack import default_keys
from service_hall.voice.models import VoiceSegment
from service_hall.voice.segments import SEGMENTS, segments_for
from tests.factories import Desk, csrf_from, login


def wav(samples: list[int], rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(array.array("h", samples).tobytes())
    return out.getvalue()


def tone(ms: int, silence_ms: int = 0, rate: int = 16000) -> bytes:
    """``silence_ms`` of silence, ``ms`` of a loud square wave, ``silence_ms`` of silence."""
    quiet = [0] * (rate * silence_ms // 1000)
    loud = [8000 if (i // 20) % 2 else -8000 for i in range(rate * ms // 1000)]
    return wav(quiet + loud + quiet, rate)


def duration_ms(data: bytes) -> int:
    with wave.open(io.BytesIO(data)) as reader:
        return round(reader.getnframes() * 1000 / reader.getframerate())


@pytest.fixture()
def admin(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    factory.user("admin", "admin", setup["hall"])
    other = factory.hall("C2")
    factory.user("admin-c2", "admin", other)
    assert login(client, "admin").status_code == 302
    csrf = csrf_from(client.get("/admin/voice/C1").get_data(as_text=True))
    return {"client": client, "csrf": csrf, "setup": setup}


def save(admin, key: str, data: bytes, hall: str = "C1"):
    return admin["client"].post(f"/admin/voice/{hall}/clips/{key}",
                                data={"audio": (io.BytesIO(data), f"{key}.wav")},
                                headers={"X-CSRFToken": admin["csrf"]},
                                content_type="multipart/form-data")


def test_trimming_keeps_the_sound_and_drops_the_silence_around_it():
    trimmed, ms = trim_wav(tone(400, silence_ms=700))
    assert 400 <= ms <= 400 + 2 * 30 + 2  # the sound plus the 30 ms pads
    assert duration_ms(trimmed) == ms


def test_a_recorded_segment_is_trimmed_stored_audited_and_served(admin):
    answer = save(admin, "qing", tone(300, silence_ms=500))
    assert answer.status_code == 200, answer.get_json()
    assert 300 <= answer.get_json()["duration_ms"] <= 362
    row = db.session.scalars(select(VoiceSegment)).one()
    assert row.key == "qing" and row.mime == "audio/wav" and duration_ms(row.audio) < 400
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "voice.record")) == 1
    served = admin["client"].get(answer.get_json()["url"])
    assert served.status_code == 200 and served.data == row.audio
    # Recording it again replaces it: still one row, audited as a replacement.
    assert save(admin, "qing", tone(200, silence_ms=100)).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(VoiceSegment)) == 1
    page = admin["client"].get("/admin/voice/C1").get_data(as_text=True)
    assert "已录制" in page and "1</strong> / 44" in page


@pytest.mark.parametrize("data, code", [
    (b"", "audio_empty"), (b"not audio at all", "audio_format"),
    (wav([0] * 16000), "audio_silent"), (b"RIFF" + b"\0" * (1024 * 1024 + 10), "audio_too_large")])
def test_bad_clips_are_refused_and_nothing_is_written(admin, data, code):
    answer = save(admin, "hao", data)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == code
    assert "号" in answer.get_json()["error"]["message"]  # names the segment
    assert db.session.scalar(select(func.count()).select_from(VoiceSegment)) == 0


def test_unknown_segments_and_other_counties_are_refused(admin, factory):
    assert save(admin, "nope", tone(100)).status_code == 404
    assert save(admin, "qing", tone(100), hall="C2").status_code == 403
    assert admin["client"].get("/admin/voice/C2").status_code == 403


def test_only_administrators_keep_packs(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    assert client.get("/admin/voice/C1").status_code == 302  # to the sign-in page
    assert login(client, setup["clerks"][0].username).status_code == 302
    assert client.get("/admin/voice/C1").status_code == 403
    csrf = csrf_from(client.get("/").get_data(as_text=True))
    refused = client.post("/admin/voice/C1/clips/qing", headers={"X-CSRFToken": csrf},
                          data={"audio": (io.BytesIO(tone(100)), "q.wav")},
                          content_type="multipart/form-data")
    assert refused.status_code == 403


def test_a_pack_round_trips_as_a_zip(admin):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        for i, key in enumerate(SEGMENTS):
            out.writestr(f"pack/{key}.wav", tone(150 + i, silence_ms=50))
        out.writestr("pack/readme.txt", "录音说明")
    uploaded = admin["client"].post(
        "/admin/voice/C1/import", data={"pack": (io.BytesIO(archive.getvalue()), "pack.zip"),
                                        "csrf_token": admin["csrf"]},
        content_type="multipart/form-data")
    assert uploaded.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(VoiceSegment)) == len(SEGMENTS)
    first = admin["client"].get("/admin/voice/C1/export")
    assert first.status_code == 200 and first.mimetype == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(first.data)).namelist())
    assert names == sorted(f"{key}.wav" for key in SEGMENTS)
    again = admin["client"].post(
        "/admin/voice/C1/import", data={"pack": (io.BytesIO(first.data), "again.zip"),
                                        "csrf_token": admin["csrf"]},
        content_type="multipart/form-data")
    assert again.status_code == 303
    assert admin["client"].get("/admin/voice/C1/export").data == first.data  # unchanged
    manifest = admin["client"].get("/voice/C1/pack.json").get_json()
    assert manifest["complete"] and set(manifest["hall_segments"]) == set(SEGMENTS)


def test_a_zip_with_one_bad_clip_imports_nothing(admin):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("qing.wav", tone(200))
        out.writestr("hao.wav", wav([0] * 8000))  # silent
    answer = admin["client"].post(
        "/admin/voice/C1/import", data={"pack": (io.BytesIO(archive.getvalue()), "p.zip"),
                                        "csrf_token": admin["csrf"]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "录音中没有声音" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(VoiceSegment)) == 0


def test_the_board_manifest_and_the_default_pack(client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    manifest = client.get("/voice/C1/pack.json").get_json()
    assert manifest["complete"] is False and manifest["hall_segments"] == {}
    assert set(default_keys()) == set(SEGMENTS)  # the shipped pack says everything
    for key, url in manifest["default_segments"].items():
        clip = client.get(url)
        assert clip.status_code == 200 and clip.data[:4] == b"RIFF", key
    # a hall clip URL of a segment not recorded yet plays the default one
    fallback = client.get("/voice/C1/clips/qing")
    assert fallback.status_code == 200 and fallback.data[:4] == b"RIFF"
    assert client.get("/voice/C1/clips/nope").status_code == 404


def test_call_events_carry_the_spoken_text_and_its_segments(client, factory):
    setup = factory.hall_setup("C1", windows=12, items=1)
    desk = Desk(client, setup)
    desk.issue("C1-I1")
    desk.open("C1-12")
    desk.call("C1-12")
    desk.act("C1-12", "recall")
    events = db.session.scalars(select(Event).where(Event.type.in_(
        ("ticket.called", "ticket.recalled"))).order_by(Event.seq)).all()
    called, recalled = (event.data for event in events)
    assert called["announcement"] == "请A001号到12号窗口办理"
    assert called["spoken"] == "请A零零一号到十二号窗口办理"
    assert called["segments"] == segments_for("A001", 12)
    assert recalled["segments"] == ["chonghu"] + segments_for("A001", 12)


def test_clips_travel_to_township_nodes_as_base64(factory):
    hall = factory.hall("C1")
    spec = spec_for(VoiceSegment)
    assert spec.direction == "down" and spec.scope == "hall"
    column = VoiceSegment.__table__.c.audio
    clip = tone(100)
    assert from_wire(column, to_wire(clip)) == clip
    with pytest.raises(ValueError):
        from_wire(column, "not base64!")
    assert hall.id is not None
