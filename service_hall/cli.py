"""``flask --app wsgi hall …`` commands. Each command is one transaction."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from service_hall.extensions import db

hall_cli = AppGroup("hall", help="Service Hall operations.")


def _settings():
    return current_app.config["SERVICE_HALL"]


@hall_cli.command("seed-demo")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the pages will be served, for the printed links.")
@click.option("--history", is_flag=True,
              help="Also add two years of past tickets, cases, holds and ratings (idempotent).")
@click.option("--history-days", default=730, show_default=True, type=click.IntRange(1, 3660),
              help="How many days of history before today.")
def seed_demo_command(base_url: str, history: bool, history_days: int) -> None:
    """Load the Suide-sized demo (idempotent) and print the pages and logins."""
    from service_hall.catalog.seed import seed_demo
    settings = _settings()
    result = seed_demo(password=settings.demo_password, secret=settings.secret_key)
    db.session.commit()
    click.echo("Seeded the Suide-sized demo." if result.created
               else "Demo data already present: nothing changed.")
    if history:
        _seed_history(result.county, history_days)
    print_demo_summary(base_url, result.county.code, result.devices, settings.demo_password)


def _seed_history(county, days: int) -> None:
    import time

    from service_hall.calendar.rules import snapshot
    from service_hall.cases.history_load import default_params, load_history
    from service_hall.clock import service_day
    from service_hall.errors import ApiError
    settings = _settings()
    started = time.perf_counter()
    params = default_params(service_day(), days=days, yellow_days=settings.yellow_days,
                            rectify_days=settings.rectify_days, timezone=settings.timezone)
    try:
        outcome = load_history(county, params, snapshot())
    except ApiError as exc:
        raise click.ClickException(exc.message)
    db.session.commit()
    if not outcome.created:
        click.echo("History already present: nothing added.")
        return
    c = outcome.counts
    click.echo(f"History {params.start} – {params.today}: {c['cases']} cases, {c['holds']} holds, "
               f"{c['tickets']} tickets, {c['ratings']} ratings, {c['rectifications']} "
               f"rectifications ({time.perf_counter() - started:.1f} s).")


def print_demo_summary(base: str, county: str, devices: dict[str, str], password: str) -> None:
    from sqlalchemy import func, select

    from service_hall.catalog.models import Hall
    counts = dict(db.session.execute(select(Hall.level, func.count()).group_by(Hall.level)).all())
    kiosk = devices.get(f"kiosk-{county}-1", "")
    display = devices.get(f"display-{county}-1", "")
    click.echo(f"""
Halls: {counts.get('county', 0)} county, {counts.get('township', 0)} township, {counts.get('village', 0)} village points

Pages
  Home ........... {base}/
  Kiosk .......... {base}/kiosk/{county}?device={kiosk}
  Display board .. {base}/display/{county}?device={display}
  Window console . {base}/console   (sign in as clerk-{county}-12)
  Supervisor ..... {base}/supervise (sign in as supervisor)
  Agent (phone) .. {base}/agent     (sign in as agent-{county}100200)
  Village point .. {base}/v/{county}100200   service card: {base}/v/{county}100200/card
  Whereabouts .... {base}/board/{county}100   (set yours at {base}/me/whereabouts)
  Errand inbox ... {base}/halls/{county}100/inbox (sign in as clerk-{county}100-1)
  OpenAPI ........ {base}/api/v1/openapi.json

Logins (password: {password})
  admin, supervisor, clerk-{county}-1 … clerk-{county}-126,
  clerk-{county}100-1 (township windows), agent-{county}100200 (village points)
""")


@hall_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_command(host: str, port: int) -> None:
    """Serve pages, API and Socket.IO from one gevent process."""
    os.execv(sys.executable, [sys.executable, "-m", "service_hall.server", "--host", host,
                              "--port", str(port)])


@hall_cli.command("rollover")
def rollover_command() -> None:
    """Close open tickets of earlier days as no-shows (run daily, e.g. at 00:05)."""
    from kiosks.operations import rollover
    from service_hall.auth.actor import SYSTEM
    from service_hall.clock import service_day
    closed = rollover(before=service_day(), actor=SYSTEM)
    db.session.commit()
    click.echo(f"Closed {closed} open tickets of earlier days as no-show.")


@hall_cli.command("create-device")
@click.argument("hall_code")
@click.argument("kind", type=click.Choice(["kiosk", "display", "pad"]))
@click.argument("name")
def create_device_command(hall_code: str, kind: str, name: str) -> None:
    """Register a kiosk, display or pad and print its token (shown once)."""
    from service_hall.auth.models import Device
    from service_hall.auth.operations import hash_device_token, new_device_token
    from service_hall.catalog.queries import hall_by_code
    token = new_device_token()
    db.session.add(Device(name=name, kind=kind, hall_id=hall_by_code(hall_code).id,
                          token_hash=hash_device_token(token)))
    db.session.commit()
    click.echo(token)


@hall_cli.command("calendar-seed")
@click.option("--from-year", type=int, help="First year (default: the first chinesecalendar covers).")
@click.option("--to-year", type=int, help="Last year (default: the last chinesecalendar covers).")
@click.option("--replace", is_flag=True, help="Rewrite years already present (loses edits).")
@click.option("--weekends-only", is_flag=True,
              help="Monday–Friday workdays only, for a year chinesecalendar does not cover yet; "
                   "add its holidays with PUT /api/v1/calendar/days/{date}.")
def calendar_seed_command(from_year, to_year, replace, weekends_only) -> None:
    """Load the working-day calendar (workdays, holidays, make-up workdays) into the database."""
    from service_hall.calendar.operations import seed_calendar
    from service_hall.errors import ApiError
    try:
        written = seed_calendar(from_year, to_year or from_year if weekends_only else to_year,
                                replace=replace, weekends_only=weekends_only)
    except ApiError as exc:
        raise click.ClickException(exc.message)
    db.session.commit()
    click.echo(f"Calendar years written: {', '.join(map(str, written))}" if written
               else "Calendar already present for those years: nothing changed.")


@hall_cli.command("cases-warn")
def cases_warn_command() -> None:
    """Recompute the traffic lights of open cases and warn at yellow and red (run each
    working day, e.g. at 08:00)."""
    from service_hall.auth.actor import SYSTEM
    from service_hall.calendar.rules import snapshot
    from service_hall.cases.operations import warn_cases
    from service_hall.clock import service_day
    from service_hall.errors import ApiError
    from service_hall.ratings.operations import fill_pending_due_dates
    cal = snapshot()
    try:
        counts = warn_cases(cal=cal, today=service_day(), actor=SYSTEM,
                            yellow_days=_settings().yellow_days)
    except ApiError as exc:
        raise click.ClickException(exc.message)
    filled = fill_pending_due_dates(cal, rectify_days=_settings().rectify_days)
    db.session.commit()
    if filled:
        click.echo(f"Gave {filled} rectifications their due date (calendar now loaded).")
    click.echo(f"Checked {counts['checked']} open cases: {counts['yellow']} new yellow, "
               f"{counts['red']} new red warnings.")


AUDIT_MIN_KEEP_DAYS = 183  # SPEC 7: the audit log is kept at least 6 months


@hall_cli.command("stats-rollup")
@click.option("--rebuild", is_flag=True,
              help="Recompute the roll-up from the cases (after a load past the application).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]),
              help="With --rebuild: only days from this one (and their whole months).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]),
              help="With --rebuild: only days up to this one (and their whole months).")
def stats_rollup_command(rebuild: bool, start, end) -> None:
    """Compare the completion roll-up with the cases (exit status 1 if they differ), or
    rebuild it from them."""
    from service_hall.stats.rollup import drift, rebuild as rebuild_rollup
    start, end = (start.date() if start else None), (end.date() if end else None)
    if rebuild:
        done = rebuild_rollup(db.session, start=start, end=end)
        db.session.commit()
        click.echo(f"Completion roll-up rebuilt in {done['seconds']} s: {done['day_rows']} day "
                   f"rows, {done['month_rows']} month rows, {done['cases']} completed cases.")
        return
    if start or end:
        raise click.UsageError("--from/--to go with --rebuild")
    found = drift(db.session)
    db.session.rollback()
    if not found["days"] and not found["months"]:
        click.echo("Completion roll-up matches the cases.")
        return
    click.echo(f"Completion roll-up differs from the cases: {found['days']} hall-days, "
               f"{found['months']} hall-months, e.g. {found['examples'][:5]}. "
               "Run with --rebuild.", err=True)
    raise SystemExit(1)


@hall_cli.command("audit-prune")
@click.option("--keep-days", type=int, required=True,
              help=f"Delete audit entries older than this many days (never fewer than "
                   f"{AUDIT_MIN_KEEP_DAYS}: the log is kept at least 6 months).")
def audit_prune_command(keep_days: int) -> None:
    """Delete old audit log entries, keeping at least the last 6 months whatever is asked."""
    from datetime import timedelta

    from sqlalchemy import delete

    from service_hall.audit.models import AuditEntry
    from service_hall.db import utcnow
    kept = max(keep_days, AUDIT_MIN_KEEP_DAYS)
    if kept != keep_days:
        click.echo(f"--keep-days {keep_days} is below the 6-month minimum: keeping {kept} days.")
    cutoff = utcnow() - timedelta(days=kept)
    deleted = db.session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff)).rowcount
    db.session.commit()
    click.echo(f"Deleted {deleted} audit entries older than {cutoff:%Y-%m-%d %H:%M} UTC "
               f"({kept} days).")


@hall_cli.command("set-password")
@click.argument("username")
@click.password_option(help="The new password (asked twice when not given).")
def set_password_command(username: str, password: str) -> None:
    """Set a user's password (also ends their sessions and bearer tokens)."""
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from service_hall.auth.models import User
    if len(password) < 8:
        raise click.ClickException("密码至少8个字符 (the password needs at least 8 characters)")
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise click.ClickException(f"没有用户 {username} (no such user)")
    user.password_hash = generate_password_hash(password)
    user.token_generation += 1
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    click.echo(f"Password of {username} changed; their sessions and tokens are revoked.")


def letter_rules():
    from service_hall.calendar.rules import snapshot
    from service_hall.clock import service_day
    from service_hall.supervision.letters import Rules
    settings = _settings()
    return Rules(cal=snapshot(), today=service_day(), yellow_days=settings.yellow_days,
                 target=settings.ontime_target, prefix=settings.letter_prefix)


@hall_cli.command("letters")
@click.option("--month", required=True, help="The month, e.g. 2026-10.")
@click.option("--kind", required=True, type=click.Choice(["reminder", "supervision", "warning"]),
              help="reminder 工作提示函 (month start), supervision 工作督办函 (mid-month), "
                   "warning 工作预警函 (month end).")
@click.option("--county", "county_code", help="County hall code (default: every county).")
def letters_command(month: str, kind: str, county_code: str | None) -> None:
    """Issue the month's letters of one kind to every department and township hall that needs
    one (a letter already issued is listed, not issued again)."""
    from sqlalchemy import select

    from service_hall.auth.actor import SYSTEM
    from service_hall.catalog.models import Hall
    from service_hall.clock import now
    from service_hall.errors import ApiError
    from service_hall.supervision.letters import issue_letters
    counties = select(Hall).where(Hall.level == "county").order_by(Hall.code)
    if county_code:
        counties = counties.where(Hall.code == county_code)
    found = list(db.session.scalars(counties))
    if not found:
        raise click.ClickException(f"没有县级大厅 {county_code or ''} (no such county hall)")
    try:
        rules = letter_rules()
        for county in found:
            issued = issue_letters(kind, month, county, rules, actor=SYSTEM, now=now())
            db.session.commit()
            for letter, created in issued:
                click.echo(f"{letter.number}  {letter.subject_name}  "
                           f"{len(letter.content['cases'])} 件  "
                           f"{'新发' if created else '已发 (kept)'}")
            click.echo(f"{county.name}: {sum(c for _, c in issued)} issued, "
                       f"{sum(not c for _, c in issued)} already issued.")
    except ApiError as exc:
        raise click.ClickException(exc.message)


@hall_cli.command("roster")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--hall", "hall_code", help="A village point, or a township/county: every point "
              "under it (default: every village point).")
def roster_command(month: str, hall_code: str | None) -> None:
    """Generate the duty roster (轮流坐班) of village points for a month: one cadre per working
    day, skipping cadres on leave. Points that cannot be covered are reported and left as
    they were."""
    from sqlalchemy import or_, select

    from service_hall.auth.actor import SYSTEM
    from service_hall.calendar.rules import snapshot
    from service_hall.catalog.models import Hall
    from service_hall.catalog.queries import hall_by_code
    from service_hall.errors import ApiError
    from service_hall.staff.operations import generate_roster, month_days
    try:
        month_days(month)
        stmt = select(Hall).where(Hall.level == "village").order_by(Hall.code)
        if hall_code:
            root = hall_by_code(hall_code)
            parents = select(Hall.id).where(or_(Hall.id == root.id, Hall.parent_id == root.id))
            stmt = stmt.where(or_(Hall.id == root.id, Hall.parent_id.in_(parents)))
        points = list(db.session.scalars(stmt))
        cal = snapshot()
    except ApiError as exc:
        raise click.ClickException(exc.message)
    done, skipped = 0, []
    for point in points:
        try:
            with db.session.begin_nested():
                generate_roster(point, month, cal=cal, actor=SYSTEM)
            done += 1
        except ApiError as exc:
            if exc.code == "calendar_missing":
                raise click.ClickException(exc.message)
            skipped.append(f"{point.code}: {exc.message}")
    db.session.commit()
    click.echo(f"Roster {month}: {done} village points rostered, {len(skipped)} skipped.")
    for line in skipped:
        click.echo(f"  {line}")
