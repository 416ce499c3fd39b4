"""Local time of the deployment (default Asia/Shanghai): service days are local dates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["SERVICE_HALL"].timezone)


def now() -> datetime:
    return datetime.now(timezone.utc)


def local(value: datetime) -> datetime:
    return value.astimezone(tz())


def service_day(at: datetime | None = None) -> date:
    """The local calendar day a moment belongs to (tickets are numbered per hall per day)."""
    return local(at or now()).date()
