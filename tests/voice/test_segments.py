"""The one segmenter (service_hall/voice/segments.py): what a call says, segment by segment."""
from __future__ import annotations

import pytest

from service_hall.voice.segments import (SEGMENTS, UnspeakableNumber, announcement, call_voice,
                                         character_segments, number_segments, segments_for,
                                         spoken_text)

DIGITS = "零一二三四五六七八九"


def said(keys: list[str]) -> str:
    return "".join(SEGMENTS[key] for key in keys)


def reference_reading(n: int) -> str:
    """Mandarin cardinal reading of 1–999, written out independently of the module."""
    hundreds, tens, units = divmod(n, 100)[0], n // 10 % 10, n % 10
    out = ""
    if hundreds:
        out += DIGITS[hundreds] + "百"
    if tens:
        out += ("" if (not hundreds and tens == 1) else DIGITS[tens]) + "十"
    elif hundreds and units:
        out += "零"
    if units:
        out += DIGITS[units]
    return out


def test_the_acceptance_call():
    keys = segments_for("A001", 12)
    assert [SEGMENTS[k] for k in keys] == ["请", "A", "零", "零", "一", "号", "到", "十", "二",
                                          "号", "窗口", "办理"]
    assert spoken_text(keys) == "请A零零一号到十二号窗口办理"
    assert announcement("A001", 12) == "请A001号到12号窗口办理"


@pytest.mark.parametrize("n, expected", [
    (1, "一"), (9, "九"), (10, "十"), (11, "十一"), (12, "十二"), (19, "十九"), (20, "二十"),
    (21, "二十一"), (99, "九十九"), (100, "一百"), (101, "一百零一"), (105, "一百零五"),
    (110, "一百一十"), (111, "一百一十一"), (115, "一百一十五"), (120, "一百二十"),
    (126, "一百二十六"), (200, "二百"), (305, "三百零五"), (999, "九百九十九")])
def test_numbers_as_said(n, expected):
    assert said(number_segments(n)) == expected


def test_every_number_from_1_to_999():
    for n in range(1, 1000):
        keys = number_segments(n)
        assert all(key in SEGMENTS for key in keys), n
        assert said(keys) == reference_reading(n), n


def test_every_window_number_of_the_county_in_a_call():
    for window in range(1, 127):
        assert spoken_text(segments_for("B123", window)) == \
            f"请B一二三号到{reference_reading(window)}号窗口办理"


@pytest.mark.parametrize("bad", [0, -1, 1000])
def test_numbers_out_of_range_are_refused(bad):
    with pytest.raises(UnspeakableNumber):
        number_segments(bad)


def test_letters_and_digits_of_a_ticket_number():
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        assert character_segments(f"{letter}090") == [letter, "d0", "d9", "d0"]
    assert character_segments("v120") == ["V", "d1", "d2", "d0"]
    with pytest.raises(UnspeakableNumber):
        character_segments("A-01")
    with pytest.raises(UnspeakableNumber):
        character_segments("A１")  # a full-width digit is not a ticket number


def test_a_recall_is_preceded_by_chonghu():
    keys = segments_for("Y007", 3, recall=True)
    assert keys[0] == "chonghu" and keys[1:] == segments_for("Y007", 3)
    assert spoken_text(keys) == "重呼请Y零零七号到三号窗口办理"


def test_call_voice_of_an_unspeakable_number_still_has_text():
    assert call_voice("A001", 5) == {"spoken": "请A零零一号到五号窗口办理",
                                     "segments": segments_for("A001", 5)}
    assert call_voice("A001", 1200) == {"spoken": "请A001号到1200号窗口办理", "segments": []}
