"""Configuration from ``SERVICE_HALL_*`` environment variables.

Defaults run the embedded demo: SQLite under ``instance/``, an in-process
Socket.IO bus, the county role.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "SERVICE_HALL_"
DEMO_SECRET = "service-hall-demo-secret-change-me"
ROOT = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(PREFIX + name, default)


def _default_database_url() -> str:
    instance = ROOT / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'service_hall.db'}"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL says (it cooperates with gevent)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: normalise_database_url(
        env("DATABASE_URL") or _default_database_url()))
    secret_key: str = field(default_factory=lambda: env("SECRET_KEY", DEMO_SECRET) or DEMO_SECRET)
    redis_url: str | None = field(default_factory=lambda: env("REDIS_URL") or None)
    # Socket.IO message-queue channel: deployments (or test runs) sharing a Redis stay apart.
    redis_channel: str = field(default_factory=lambda: env("REDIS_CHANNEL", "service-hall")
                               or "service-hall")
    # A client resuming with more missed events than this is told to reload (``resync``).
    replay_limit: int = field(default_factory=lambda: int(env("REPLAY_LIMIT", "5000") or 5000))
    role: str = field(default_factory=lambda: env("ROLE", "county") or "county")
    node_code: str | None = field(default_factory=lambda: env("NODE_CODE") or None)
    upstream_url: str | None = field(default_factory=lambda: env("UPSTREAM_URL") or None)
    node_token: str | None = field(default_factory=lambda: env("NODE_TOKEN") or None)
    timezone: str = field(default_factory=lambda: env("TIMEZONE", "Asia/Shanghai") or "Asia/Shanghai")
    demo_password: str = field(default_factory=lambda: env("DEMO_PASSWORD", "demo-2026") or "demo-2026")
    # "demo" allows the demo secret and passwords; any other mode ("production") refuses both
    # (service_hall.security.refuse_demo_secrets) and marks the session cookie Secure.
    mode: str = field(default_factory=lambda: env("MODE", "demo") or "demo")
    async_mode: str = field(default_factory=lambda: env("ASYNC_MODE", "threading") or "threading")
    # Origins allowed to open Socket.IO connections besides our own ("*" is refused: with
    # cookie sessions it would allow cross-site WebSocket hijacking).
    cors_origins: list[str] = field(default_factory=lambda: [
        o.strip() for o in (env("CORS_ORIGINS", "") or "").split(",") if o.strip()])
    green_ratio: tuple[int, int] = field(default_factory=lambda: _ratio(env("GREEN_RATIO", "1:2")))
    pause_max_minutes: int = field(default_factory=lambda: int(env("PAUSE_MAX_MINUTES", "15") or 15))
    token_hours: int = field(default_factory=lambda: int(env("TOKEN_HOURS", "12") or 12))
    # The hall's ticket printer (kiosks.printing): network:HOST:PORT, usb:VID:PID, file:PATH or "".
    printer: str = field(default_factory=lambda: env("PRINTER", "") or "")
    # Behind nginx: how many proxies set X-Forwarded-For/-Proto (0 = served directly). Without
    # it every kiosk shares the proxy's address and therefore one rate-limit bucket.
    proxy_hops: int = field(default_factory=lambda: int(env("PROXY_HOPS", "0") or 0))
    # Database connections per process: the server's max_connections is shared by every process.
    db_pool_size: int = field(default_factory=lambda: int(env("DB_POOL_SIZE", "10") or 10))
    db_max_overflow: int = field(default_factory=lambda: int(env("DB_MAX_OVERFLOW", "20") or 20))
    # Per-process caches (service_hall/caching.py) keep rows at most this long when set; "0"
    # turns them off (the tests' shared server, whose tables are emptied between tests).
    cache_seconds: float | None = field(default_factory=lambda: (
        float(env("CACHE_SECONDS")) if env("CACHE_SECONDS") else None))
    # Rate limits on public endpoints (SPEC 7); only benchmarks turn them off.
    rate_limits: bool = field(default_factory=lambda: (env("RATE_LIMITS", "1") or "1") != "0")
    # Key for applicants' personal data (SPEC 7); derived from SECRET_KEY when unset.
    data_key: str | None = field(default_factory=lambda: env("DATA_KEY") or None)
    yellow_days: int = field(default_factory=lambda: int(env("YELLOW_DAYS", "1") or 1))
    rectify_days: int = field(default_factory=lambda: int(env("RECTIFY_DAYS", "15") or 15))
    # On-time completion target of the warning letter (预警函): "99" or "0.99".
    ontime_target: float = field(default_factory=lambda: _share(env("ONTIME_TARGET", "99")))
    # Issuing office's abbreviation in letter numbers: 绥政服督〔2026〕第12号.
    letter_prefix: str = field(default_factory=lambda: env("LETTER_PREFIX", "绥政服") or "绥政服")

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(self.database_url, self.db_pool_size,
                                                         self.db_max_overflow),
            "SERVICE_HALL": self,
            "PERMANENT_SESSION_LIFETIME": 30 * 60,  # idle timeout (SPEC 7)
            "SESSION_REFRESH_EACH_REQUEST": True,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            # Always Secure in production; otherwise on requests that came over https.
            "SESSION_COOKIE_SECURE": self.mode == "production",
            "JSON_SORT_KEYS": False,
            "BABEL_DEFAULT_LOCALE": "zh",
            "WTF_CSRF_TIME_LIMIT": None,
            "RATELIMIT_ENABLED": self.rate_limits,
            "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,  # the largest body: a catalog sheet (≤ 5 MB)
        }

    def summary(self) -> str:
        url = self.database_url
        if "@" in url:  # hide credentials
            url = url.split("://")[0] + "://…@" + url.split("@", 1)[1]
        return (f"role={self.role} node={self.node_code or '-'} db={url} "
                f"bus={'redis:' + self.redis_channel if self.redis_url else 'in-process'} tz={self.timezone} mode={self.mode} "
                f"printer={self.printer.partition(':')[0] or '-'}")


def _share(text: str | None) -> float:
    value = float(text or 99)
    value = value / 100 if value > 1 else value
    if not 0 < value <= 1:
        raise ValueError("SERVICE_HALL_ONTIME_TARGET must be a percentage like 99 or 0.99")
    return value


def _ratio(text: str | None) -> tuple[int, int]:
    green, _, ordinary = (text or "1:2").partition(":")
    g, o = int(green), int(ordinary)
    if g < 1 or o < 1:
        raise ValueError("SERVICE_HALL_GREEN_RATIO must be like 1:2 with both parts ≥ 1")
    return g, o


def _engine_options(url: str, pool_size: int = 10, max_overflow: int = 30) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False},
                "pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": 120}
    return {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": 120,
            "pool_pre_ping": True}
