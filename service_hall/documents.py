"""Identity documents (SPEC 3.9): the ONE place that knows the document types, normalises and
checks their numbers, masks them and keeps them together with their type.

- ``validate(type, number, today=...) -> Document``: full-width digits, spaces and a lower-case
  x normalised, then the type's own check; a refusal is an :class:`InvalidDocument` (422) that
  names the wrong part (``length``, ``format``, ``date``, ``region``, ``check_character``).
- ``from_person(data, today=...)``: the document of an applicant or villager, given as
  ``document: {type, number}`` or, as before, ``id_number`` (a resident ID).
- ``mask(number)``: first 6 + last 4; ``lookup_hash(number)``: the keyed look-up hash;
  ``seal``/``unseal``: the one text kept (encrypted) for a document, type included.

An 18-character resident ID is valid when its check character is right (ISO 7064 MOD 11-2,
``stdnum.cn.ric``), its birth date is a real day not after today, and its first six digits are a
region code of ANY year. python-stdnum itself also demands that the region existed in the birth
year, which refuses every villager born before their county's current code (Suide's 610826 dates
from 1999): the region is the place of first registration, not of birth, so we build the set of
every code in stdnum's table, whatever its years, and check against that.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from service_hall import privacy
from service_hall.errors import ApiError

TYPES: dict[str, str] = {
    "resident_id": "居民身份证",
    "hmt_residence": "港澳台居民居住证",
    "foreign_pr": "外国人永久居留身份证",
    "passport": "护照",
    "hk_mo_permit": "港澳居民来往内地通行证",
    "tw_permit": "台湾居民来往大陆通行证",
    "uscc": "统一社会信用代码",
}
HMT_REGIONS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}
PARTS = {"length": "位数", "format": "格式", "date": "出生日期", "region": "地区码",
         "check_character": "校验位", "type": "证件类型"}
MAX_INPUT = 40           # longer than any document: refused before any work on it
EARLIEST_BIRTH_YEAR = 1880
_PASSPORT = re.compile(r"^[A-Z0-9]{5,20}$")
_HK_MO = re.compile(r"^[HM]\d{8}(\d{2})?$")      # 回乡证: H/M, 8 digits (+ 2: times renewed)
_TW = re.compile(r"^\d{8}(\d{2})?$")             # 台胞证: 8 digits (older: 10)
_OLD_PR = re.compile(r"^[A-Z]{3}\d{12}$")        # 2004 form: nationality + 12 digits


DOCUMENT_BODY = {"type": "object", "required": ["type", "number"],
                 "properties": {"type": {"enum": list(TYPES)},
                                "number": {"type": "string", "maxLength": MAX_INPUT}},
                 "additionalProperties": False}


def person_body(name_length: int = 50) -> dict:
    """JSON Schema of an applicant or villager in a request: name, phone and a document
    (``document: {type, number}`` or a resident ``id_number``)."""
    return {"type": "object", "required": ["name", "phone"],
            "anyOf": [{"required": ["id_number"]}, {"required": ["document"]}],
            "properties": {"name": {"type": "string", "maxLength": name_length},
                           "id_number": {"type": "string", "maxLength": MAX_INPUT},
                           "document": DOCUMENT_BODY,
                           "phone": {"type": "string", "maxLength": 20}},
            "additionalProperties": False}


class InvalidDocument(ApiError):
    """A refused document number: 422 with code ``invalid_document_<part>`` and the part named
    in Chinese (and English) in the message and in ``details``."""

    def __init__(self, part: str, message: str, *, field: str = "document.number"):
        super().__init__(422, f"invalid_document_{part}", message,
                         details=[{"field": field, "part": part}])
        self.part = part


@dataclass(frozen=True)
class Document:
    type: str
    number: str

    @property
    def label(self) -> str:
        return TYPES[self.type]

    @property
    def masked(self) -> str:
        return mask(self.number)


# --- normalisation ---------------------------------------------------------------------------

def normalise_number(value: str) -> str:
    """Full-width letters and digits to ASCII (NFKC), every space removed, upper case."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s+", "", text).upper()


@lru_cache(maxsize=1)
def region_codes() -> frozenset[str]:
    """Every six-digit region code in python-stdnum's table (``stdnum/cn/loc.dat``), of any
    year: the place of first registration may be a code created after the birth."""
    codes: set[str] = set()
    for _length, low, high, _props, counties in numdb.get("cn/loc").prefixes:
        for province in range(int(low), int(high) + 1):
            for _l, c_low, c_high, _p, _c in counties:
                codes.update(f"{province:02d}{c:04d}" for c in range(int(c_low), int(c_high) + 1))
    return frozenset(codes)


# --- the checks, one per part ----------------------------------------------------------------

def _refuse(part: str, detail: str, english: str) -> InvalidDocument:
    return InvalidDocument(part, f"{PARTS[part]}有误：{detail} ({english})")


def _length(number: str, *allowed: int) -> None:
    if len(number) not in allowed:
        want = "或".join(str(n) for n in allowed)
        raise _refuse("length", f"应为{want}位，实为{len(number)}位",
                      f"length must be {' or '.join(map(str, allowed))}, got {len(number)}")


def _digits17(number: str) -> None:
    if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise _refuse("format", "前17位须为数字，末位为数字或X",
                      "17 digits then a digit or X expected")


def _birth_date(text: str, today: date) -> date:
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise _refuse("date", f"{text[:4]}-{text[4:6]}-{text[6:8]}不是真实的日期",
                      f"{text} is not a real date") from None
    if born > today:
        raise _refuse("date", f"{born.isoformat()}在今天之后", "birth date in the future")
    if born.year < EARLIEST_BIRTH_YEAR:
        raise _refuse("date", f"{born.year}年过早", "birth year too early")
    return born


def _check_character(number: str) -> None:
    expected = ric.calc_check_digit(number)   # ISO 7064 MOD 11-2 over the first 17 digits
    if number[17] != expected:
        raise _refuse("check_character", f"末位校验位{number[17]}与前17位不符",
                      "check character does not match the first 17 digits")


def _resident_id(number: str, today: date) -> None:
    _length(number, 18)
    _digits17(number)
    region = number[:6]
    if region in HMT_REGIONS:
        raise _refuse("region", f"{region}是港澳台居民居住证的地区码，请选择该证件类型",
                      "a Hong Kong/Macao/Taiwan residence permit: choose that type")
    if region not in region_codes():
        raise _refuse("region", f"前6位{region}不是任何年份的行政区划代码",
                      "unknown region code")
    _birth_date(number[6:14], today)
    _check_character(number)


def _hmt_residence(number: str, today: date) -> None:
    _length(number, 18)
    _digits17(number)
    if number[:6] not in HMT_REGIONS:
        raise _refuse("region", "前6位须为810000（香港）、820000（澳门）或830000（台湾）",
                      "region must be 810000, 820000 or 830000")
    _birth_date(number[6:14], today)
    _check_character(number)


def _foreign_pr(number: str, today: date) -> None:
    # 2023 form: 9, issuing place and nationality, birth date (digits 7-14), serial, MOD 11-2
    # check character as a resident ID; the 2004 form: 3 nationality letters and 12 digits.
    _length(number, 18, 15)
    if len(number) == 15:
        if not _OLD_PR.match(number):
            raise _refuse("format", "15位旧版应为3位国籍字母加12位数字",
                          "old form: 3 letters then 12 digits")
        return
    _digits17(number)
    if number[0] != "9":
        raise _refuse("format", "18位新版须以9开头", "the 18-character form starts with 9")
    _birth_date(number[6:14], today)
    _check_character(number)


def _pattern(regex: re.Pattern, rule: str, english: str):
    def check(number: str, today: date) -> None:
        if not regex.match(number):
            raise _refuse("format", rule, english)
    return check


def _uscc(number: str, today: date) -> None:
    _length(number, 18)
    try:
        uscc.validate(number)
    except InvalidChecksum:
        raise _refuse("check_character", f"末位校验码{number[17]}与前17位不符",
                      "check character does not match") from None
    except ValidationError:
        raise _refuse("format", "应为18位数字或大写字母（不含I、O、S、V、Z）",
                      "18 digits or capital letters (no I, O, S, V, Z)") from None


_CHECKS = {
    "resident_id": _resident_id,
    "hmt_residence": _hmt_residence,
    "foreign_pr": _foreign_pr,
    "passport": _pattern(_PASSPORT, "应为5至20位字母或数字", "5–20 letters or digits"),
    "hk_mo_permit": _pattern(_HK_MO, "应为H或M加8位数字", "H or M then 8 digits"),
    "tw_permit": _pattern(_TW, "应为8位数字", "8 digits"),
    "uscc": _uscc,
}


# --- the public operations -------------------------------------------------------------------

def validate(doc_type: str, number: str, *, today: date) -> Document:
    """The normalised document, or :class:`InvalidDocument` naming the wrong part."""
    if doc_type not in TYPES:
        raise InvalidDocument("type", f"证件类型须为{'、'.join(TYPES)}之一 (unknown document type)",
                              field="document.type")
    if len(number or "") > MAX_INPUT:
        raise _refuse("length", f"超过{MAX_INPUT}个字符", f"longer than {MAX_INPUT} characters")
    normal = normalise_number(number)
    if not normal:
        raise _refuse("length", "不能为空", "required")
    _CHECKS[doc_type](normal, today)
    return Document(doc_type, normal)


def from_person(data: dict, *, today: date) -> Document:
    """An applicant's or villager's document: ``document: {type, number}`` or ``id_number``
    (a resident ID); with both, the document."""
    document = data.get("document")
    if document:
        return validate(document.get("type", ""), document.get("number", ""), today=today)
    return validate("resident_id", data.get("id_number", ""), today=today)


def mask(number: str) -> str:
    """First 6 and last 4 kept: 610826********0025; 10 characters or fewer are all hidden."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def lookup_hash(number: str) -> str:
    """The keyed look-up hash of a normalised number (any type: numbers of different types do
    not collide in practice, and a kiosk check-in by number need not ask the type)."""
    return privacy.keyed_hash(number)


def seal(doc: Document) -> str:
    """The text kept (encrypted) for a document: the bare number for a resident ID (as every
    earlier row), ``type:number`` for the others."""
    return doc.number if doc.type == "resident_id" else f"{doc.type}:{doc.number}"


def unseal(text: str) -> Document:
    doc_type, sep, number = text.partition(":")
    return Document(doc_type, number) if sep and doc_type in TYPES else Document("resident_id", text)


def view(doc: Document, *, reveal: bool = False) -> dict:
    """The document in an answer: type, its Chinese label, the number masked unless revealed."""
    return {"type": doc.type, "label": doc.label,
            "number": doc.number if reveal else doc.masked}


def person(name_enc: str, document_enc: str, phone_enc: str, *, reveal: bool = False) -> dict:
    """An applicant or villager from their encrypted fields: name, document and phone masked
    unless revealed (the caller audits a reveal). ``id_number`` stays the (masked) number."""
    name, phone = privacy.decrypt(name_enc), privacy.decrypt(phone_enc)
    doc = unseal(privacy.decrypt(document_enc))
    shown = view(doc, reveal=reveal)
    if reveal:
        return {"name": name, "id_number": doc.number, "phone": phone, "document": shown}
    return {"name": privacy.mask_name(name), "id_number": shown["number"],
            "phone": privacy.mask_phone(phone), "document": shown}


def protect(doc: Document) -> tuple[str, str]:
    """What a row keeps of a document: the sealed text encrypted, and the look-up hash."""
    return privacy.encrypt(seal(doc)), lookup_hash(doc.number)
