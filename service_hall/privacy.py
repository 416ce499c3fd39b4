"""Applicants' personal information (SPEC 7): the ONE place that encrypts and keys look-up
hashes, and that validates and masks names and phone numbers. Identity documents (their
check, masking and look-up hash) are ``service_hall.documents``.

- Encryption: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF-SHA256 from
  ``SERVICE_HALL_DATA_KEY`` (or, when unset, from ``SERVICE_HALL_SECRET_KEY``).
- Look-ups: an HMAC-SHA256 under a second HKDF-derived key (``keyed_hash``).
- Masking: 张* (two characters) / 张*三 (three or more: first and last kept), phones as
  138****1234.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from service_hall.errors import unprocessable

PHONE = re.compile(r"^(?:1\d{10}|0\d{2,3}-?\d{7,8})$")


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"service-hall-personal-data",
                info=purpose).derive(master.encode())


@lru_cache(maxsize=8)
def _keys(master: str) -> tuple[Fernet, bytes]:
    fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"encrypt")))
    return fernet, _derive(master, b"lookup-hmac")


def _master() -> str:
    settings = current_app.config["SERVICE_HALL"]
    return settings.data_key or settings.secret_key


# --- validation ---------------------------------------------------------------------------

def normalise_phone(value: str) -> str:
    text = re.sub(r"[\s]", "", value or "")
    if not PHONE.match(text):
        raise unprocessable("手机或电话号码格式不正确 (invalid phone number)", "invalid_phone")
    return text


def normalise_name(value: str) -> str:
    text = (value or "").strip()
    if not 1 <= len(text) <= 50:
        raise unprocessable("姓名须为1至50个字符 (name must be 1–50 characters)", "invalid_name")
    return text


# --- encryption and look-up hash ---------------------------------------------------------

def encrypt(value: str) -> str:
    return _keys(_master())[0].encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys(_master())[0].decrypt(token.encode()).decode()
    except InvalidToken:
        raise unprocessable("无法解密（数据密钥已更换？）(cannot decrypt: wrong data key)",
                            "undecryptable")


def keyed_hash(text: str) -> str:
    """HMAC-SHA256 under the look-up key: equal texts are found without decrypting, and the
    hash alone reveals nothing (documents.lookup_hash applies it to document numbers)."""
    return hmac.new(_keys(_master())[1], text.encode(), hashlib.sha256).hexdigest()


# --- masking ---------------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """张三 -> 张*; 张小三 -> 张*三; 欧阳小明 -> 欧**明."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """13812341234 -> 138****1234."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
