"""``flask --app wsgi hall node-token | link | sync-run | sync-status | sync-prune``."""
from __future__ import annotations

import json

import click
from flask import current_app

from service_hall.cli import hall_cli
from service_hall.errors import ApiError
from service_hall.extensions import db


def _role() -> str:
    return current_app.config["SERVICE_HALL"].role


@hall_cli.command("node-token")
@click.argument("hall_code")
def node_token_command(hall_code: str) -> None:
    """At the county: print a new sync token for a township's node (the old one stops working).
    The first time, the node's initial snapshot is queued."""
    from realtime.sync.county import register_node
    if _role() != "county":
        raise click.ClickException("node tokens are issued at the county node")
    try:
        token, new = register_node(hall_code)
    except ApiError as exc:
        raise click.ClickException(exc.message)
    db.session.commit()
    click.echo(token)
    click.echo(("New node: its initial snapshot is queued." if new else
                "Token rotated: the previous token no longer connects.") +
               " Set SERVICE_HALL_NODE_TOKEN on the township node.", err=True)


@hall_cli.command("link")
@click.argument("hall_code")
@click.option("--off", is_flag=True, help="Unlink (the node keeps its outbox until relinked).")
def link_command(hall_code: str, off: bool) -> None:
    """At the county: mark a township hall linked (互联互通); its node then syncs its history."""
    from realtime.sync.county import set_linked
    if _role() != "county":
        raise click.ClickException("halls are linked at the county node")
    try:
        hall = set_linked(hall_code, not off)
    except ApiError as exc:
        raise click.ClickException(exc.message)
    db.session.commit()
    click.echo(f"{hall.code} {hall.name}: {'linked' if hall.linked else 'unlinked'}")


@hall_cli.command("sync-run")
def sync_run_command() -> None:
    """At a township: run the sync worker in the foreground (when the server does not)."""
    from realtime.sync.worker import SyncWorker
    try:
        worker = SyncWorker(current_app._get_current_object())
    except RuntimeError as exc:
        raise click.ClickException(str(exc))
    worker.initial_snapshot(wait=True)
    click.echo(f"Township node {worker.node} syncing with {worker.url} (Ctrl-C to stop)")
    worker.run()


@hall_cli.command("sync-status")
def sync_status_command() -> None:
    """Print the sync status (every node at the county, the link at a township) as JSON."""
    from realtime.sync.status import status_for
    click.echo(json.dumps(status_for(), ensure_ascii=False, indent=2))


@hall_cli.command("sync-prune")
@click.option("--keep-days", type=click.FloatRange(min=0), default=None,
              help="Keep acknowledged entries this many days after their acknowledgement "
                   "(default SERVICE_HALL_SYNC_KEEP_DAYS, 7).")
def sync_prune_command(keep_days: float | None) -> None:
    """Delete outbox entries their receiver acknowledged as applied more than --keep-days ago
    (never one not yet acknowledged). Run from a timer at the county; a township's sync worker
    prunes by itself."""
    from datetime import timedelta

    from realtime.sync.prune import keep_days as default_keep, prune_outbox
    keep = default_keep() if keep_days is None else keep_days
    deleted = prune_outbox(db.session, keep=timedelta(days=keep))
    for peer, count in deleted.items():
        click.echo(f"{peer}: {count} acknowledged entries deleted")
    click.echo(f"Kept entries acknowledged within the last {keep:g} days and every entry not "
               f"yet acknowledged.")
