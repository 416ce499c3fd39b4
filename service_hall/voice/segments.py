"""The announcement rule, once: what the board shows, what the voice says, and the recorded
segments that say it.

"请A001号到12号窗口办理" is said "请 A 零 零 一 号 到 十 二 号 窗口 办理": the ticket number
character by character, the window as a number. A recall is preceded by "重呼". The board, the
voice packs and the tests all take the segments from ``segments_for``; nothing else splits text.
"""
from __future__ import annotations

import string

DIGITS = "零一二三四五六七八九"

# key -> (group, the text spoken). Keys are file names in a pack: ASCII, stable, lower case for
# words and digits, the letter itself for letters.
PHRASES: dict[str, str] = {
    "qing": "请", "hao": "号", "dao": "到", "chuangkou": "窗口", "banli": "办理",
    "chonghu": "重呼",
}
NUMERALS: dict[str, str] = {f"d{i}": DIGITS[i] for i in range(10)} | {"shi": "十", "bai": "百"}
LETTERS: dict[str, str] = {letter: letter for letter in string.ascii_uppercase}

SEGMENTS: dict[str, str] = PHRASES | NUMERALS | LETTERS
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("phrases", tuple(PHRASES)), ("numerals", tuple(NUMERALS)), ("letters", tuple(LETTERS)))


class UnspeakableNumber(ValueError):
    """A ticket or window number the segments cannot say (the caller shows it, silently)."""


def announcement(number: str, window_number: int) -> str:
    """What the board shows and the event carries: "请A001号到12号窗口办理"."""
    return f"请{number}号到{window_number}号窗口办理"


def number_segments(value: int) -> list[str]:
    """A window number 1–999 as said: 12 → 十 二, 101 → 一 百 零 一, 110 → 一 百 一 十."""
    if not 1 <= value <= 999:
        raise UnspeakableNumber(f"window number out of range: {value}")
    hundreds, tens, units = value // 100, value // 10 % 10, value % 10
    out: list[str] = []
    if hundreds:
        out += [f"d{hundreds}", "bai"]
    if tens:
        if hundreds or tens > 1:  # 10–19 are said 十, 十二; 110 is 一百一十
            out.append(f"d{tens}")
        out.append("shi")
    elif hundreds and units:
        out.append("d0")  # 101: 一百零一
    if units:
        out.append(f"d{units}")
    return out


def character_segments(number: str) -> list[str]:
    """A ticket number read character by character: "A001" → A 零 零 一."""
    out = []
    for char in number.upper():
        if char.isdigit() and char.isascii():
            out.append(f"d{char}")
        elif char in LETTERS:
            out.append(char)
        else:
            raise UnspeakableNumber(f"cannot say {char!r} in {number!r}")
    return out


def segments_for(number: str, window_number: int, *, recall: bool = False) -> list[str]:
    """The segment keys of one call (or recall) of ``number`` to ``window_number``."""
    said = (["qing"] + character_segments(number) + ["hao", "dao"]
            + number_segments(window_number) + ["hao", "chuangkou", "banli"])
    return (["chonghu"] + said) if recall else said


def spoken_text(segments: list[str]) -> str:
    """The text a speech engine reads for these segments: "请A零零一号到十二号窗口办理"."""
    return "".join(SEGMENTS[key] for key in segments)


def call_voice(number: str, window_number: int, *, recall: bool = False) -> dict:
    """The voice part of a ``ticket.called``/``ticket.recalled`` event: the spoken text and its
    segments (empty when the number cannot be said: the board then shows it only)."""
    try:
        keys = segments_for(number, window_number, recall=recall)
    except UnspeakableNumber:
        return {"spoken": announcement(number, window_number), "segments": []}
    return {"spoken": spoken_text(keys), "segments": keys}
