"""Sign-in with lockout, bearer tokens for users and devices, and the actor behind a request."""
from __future__ import annotations

import hashlib
import secrets
import string
import uuid
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from service_hall.auth.actor import Actor
from service_hall.auth.cache import actor_cache
from service_hall.auth.models import Device, User
from service_hall.catalog.models import Hall
from service_hall.db import keep_loaded
from service_hall.errors import ApiError
from service_hall.extensions import db

MAX_FAILURES = 5
LOCK_MINUTES = 15
DEVICE_PREFIX = "dev."
_DUMMY_HASH = "scrypt:32768:8:1$dummysaltdummysa$" + "0" * 128


class LoginError(ApiError):
    pass


def authenticate(username: str, password: str, *, now: datetime) -> User:
    """Check a password; the 5th failure in a row locks the account for 15 minutes (SPEC 7).

    Failures are recorded in the caller's transaction, which must be committed even though the
    answer is a refusal."""
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # same cost whether or not the user exists
        raise LoginError(401, "invalid_credentials", "用户名或密码错误 (wrong username or password)")
    if user.locked_until and user.locked_until > now:
        raise LoginError(423, "account_locked",
                         "账号已锁定，请15分钟后再试 (account locked after 5 failed sign-ins)")
    if not user.active:
        raise LoginError(403, "account_disabled", "账号已停用 (account disabled)")
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
        raise LoginError(401, "invalid_credentials", "用户名或密码错误 (wrong username or password)")
    user.failed_logins = 0
    user.locked_until = None
    return user


DEMO_SALT_MARK = "DEMO"
_SALT_CHARS = string.ascii_letters + string.digits


def demo_password_hash(password: str) -> str:
    """The hash ``seed-demo`` gives its users: werkzeug's scrypt format (``check_password_hash``
    reads it) with a salt that starts with ``DEMO``, so production mode can find accounts that
    still have the demo password without trying it against every user's hash (scrypt is slow
    on purpose). Any other way of setting a password draws a random salt."""
    salt = DEMO_SALT_MARK + "".join(secrets.choice(_SALT_CHARS) for _ in range(12))
    n, r, p = 2**15, 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                            maxmem=132 * n * r * p).hex()
    return f"scrypt:{n}:{r}:{p}${salt}${digest}"


def is_demo_password_hash(password_hash: str) -> bool:
    parts = password_hash.split("$")
    return len(parts) == 3 and parts[1].startswith(DEMO_SALT_MARK)


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="service-hall-api-token")


def issue_token(user: User, *, secret: str, hours: int, now: datetime) -> tuple[str, datetime]:
    token = _serializer(secret).dumps({"u": str(user.id), "g": user.token_generation})
    return token, now + timedelta(hours=hours)


def _actor_for_user_token(token: str, *, secret: str, hours: int) -> Actor | None:
    """The signature and age are checked on every request; the account's state (active, token
    generation, hall) comes from the actor cache."""
    try:
        payload = _serializer(secret).loads(token, max_age=hours * 3600)
        user_id, generation = uuid.UUID(payload["u"]), payload.get("g")
    except (BadSignature, SignatureExpired, KeyError, ValueError, TypeError, AttributeError):
        return None
    if not isinstance(generation, int):
        return None

    def load() -> Actor | None:
        user = db.session.get(User, user_id, options=[joinedload(User.hall)])
        if user is None or not user.active or user.token_generation != generation:
            return None
        return actor_for_user(user)
    return actor_cache().get(db.session, ("user", user_id, generation), load)


def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_device_token() -> str:
    return DEVICE_PREFIX + secrets.token_urlsafe(32)


def _device_by_hash(token_hash: str) -> Device | None:
    device = db.session.scalars(
        select(Device).where(Device.token_hash == token_hash)
        .options(joinedload(Device.hall))).first()
    if device is None or not device.active:
        return None
    keep_loaded(db.session, device.hall)
    return device


def _actor_for_device_token(token: str) -> Actor | None:
    """Known, active devices are cached by token hash; unknown tokens are not (a flood of
    made-up tokens must not fill the cache)."""
    token_hash = hash_device_token(token)

    def load() -> Actor | None:
        device = _device_by_hash(token_hash)
        return actor_for_device(device) if device is not None else None
    return actor_cache().get(db.session, ("device", token_hash), load,
                             keep=lambda actor: actor is not None)


def _ancestors(hall: Hall | None) -> tuple[uuid.UUID, ...]:
    chain = []
    while hall is not None:
        chain.append(hall.id)
        hall = hall.parent
    return tuple(chain)


def actor_for_user(user: User) -> Actor:
    return Actor(kind="user", role=user.role, hall_id=user.hall_id, label=user.username,
                 user_id=user.id, window_id=user.window_id,
                 hall_level=user.hall.level if user.hall else None,
                 hall_ancestors=_ancestors(user.hall))


def actor_for_device(device: Device) -> Actor:
    return Actor(kind="device", role=device.kind, hall_id=device.hall_id,
                 label=f"{device.kind}:{device.name}", device_id=device.id,
                 window_id=device.window_id, hall_level=device.hall.level,
                 hall_ancestors=_ancestors(device.hall))


def actor_from_bearer(token: str, *, secret: str, hours: int) -> Actor | None:
    if token.startswith(DEVICE_PREFIX):
        return _actor_for_device_token(token)
    return _actor_for_user_token(token, secret=secret, hours=hours)
