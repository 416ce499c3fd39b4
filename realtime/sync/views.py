"""The sync status page (``/sync/status``) for supervisors and administrators."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from realtime.sync.status import status_for
from service_hall.auth.operations import actor_for_user

bp = Blueprint("sync", __name__, template_folder="templates")


@bp.route("/sync/status")
def status_page():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    if current_user.role not in ("admin", "supervisor"):
        abort(403)
    status = status_for(actor_for_user(current_user._get_current_object()))
    return render_template("sync/status.html", status=status)
