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
def seed_demo_command(base_url: str) -> None:
    """Load the Suide-sized demo (idempotent) and print the pages and logins."""
    from service_hall.catalog.seed import seed_demo
    settings = _settings()
    result = seed_demo(password=settings.demo_password, secret=settings.secret_key)
    db.session.commit()
    click.echo("Seeded the Suide-sized demo." if result.created
               else "Demo data already present: nothing changed.")
    print_demo_summary(base_url, result.county.code, result.devices, settings.demo_password)


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
