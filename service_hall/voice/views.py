"""Voice pack pages: the manifest and clips a display board plays (public), and the
administrator's recording page (record, play back, upload and download a pack)."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect,
                   render_template, request, send_from_directory, url_for)
from flask_login import current_user, login_required
from sqlalchemy import select

from service_hall.auth.operations import actor_for_user
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code
from service_hall.clock import now
from service_hall.errors import ApiError
from service_hall.extensions import db
from service_hall.voice import operations
from service_hall.voice.default_pack import FOLDER, default_keys
from service_hall.voice.segments import GROUPS, SEGMENTS

bp = Blueprint("voice", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/voice")


def _clip_url(hall: Hall, row) -> str:
    return url_for("voice.clip", hall_code=hall.code, key=row.key,
                   v=int(row.updated_at.timestamp()))


@bp.route("/voice/<hall_code>/pack.json")
def manifest(hall_code: str):
    """What a board needs to choose its voice: the hall's clips (when the pack is complete the
    board uses them), the default pack, and each segment's text for speech engines."""
    hall = hall_by_code(hall_code)
    rows = operations.hall_segments(hall)
    answer = jsonify({
        "hall": hall.code,
        "complete": all(key in rows for key in SEGMENTS),
        "hall_segments": {key: _clip_url(hall, row) for key, row in rows.items()},
        "default_segments": {key: url_for("voice.static", filename=f"default/{key}.wav")
                             for key in default_keys()},
        "texts": SEGMENTS,
    })
    answer.headers["Cache-Control"] = "no-cache"
    return answer


@bp.route("/voice/<hall_code>/clips/<key>")
def clip(hall_code: str, key: str):
    """The hall's clip of a segment; the default pack's while the hall has not recorded it."""
    hall = hall_by_code(hall_code)
    row = operations.hall_segments(hall).get(operations.segment_key(key))
    if row is None:
        if key not in default_keys():
            abort(404)
        return send_from_directory(FOLDER, f"{key}.wav", mimetype="audio/wav", max_age=3600)
    answer = Response(row.audio, mimetype=row.mime)
    answer.headers["Cache-Control"] = "public, max-age=86400"  # the URL changes with the clip
    return answer


# --- the administrator's page -------------------------------------------------------------

def _admin():
    if current_user.role != "admin":
        abort(403)
    return actor_for_user(current_user._get_current_object())


def _editable(actor, hall_code: str) -> Hall:
    hall = hall_by_code(hall_code)
    if not actor.may_see_hall(hall):
        abort(403)
    return hall


def _records_here() -> bool:
    """Packs are county records copied down: a township node plays them but does not edit."""
    return current_app.config["SERVICE_HALL"].role == "county"


def _halls(actor) -> list[Hall]:
    halls = db.session.scalars(select(Hall).where(Hall.level.in_(("county", "township")))
                               .order_by(Hall.level, Hall.code))
    return [hall for hall in halls if actor.may_see_hall(hall)]


@bp.route("/admin/voice")
@login_required
def pick_hall():
    actor = _admin()
    halls = _halls(actor)
    counts = {hall.id: len(operations.hall_segments(hall)) for hall in halls}
    return render_template("voice/halls.html", halls=halls, counts=counts, total=len(SEGMENTS))


@bp.route("/admin/voice/<hall_code>")
@login_required
def pack_page(hall_code: str):
    actor = _admin()
    hall = _editable(actor, hall_code)
    rows = operations.hall_segments(hall)
    defaults = set(default_keys())
    groups = [(name, [{"key": key, "text": SEGMENTS[key], "row": rows.get(key),
                       "url": _clip_url(hall, rows[key]) if key in rows else None,
                       "default_url": url_for("voice.static", filename=f"default/{key}.wav")
                       if key in defaults else None} for key in keys])
              for name, keys in GROUPS]
    return render_template("voice/pack.html", hall=hall, groups=groups, recorded=len(rows),
                           total=len(SEGMENTS), editable=_records_here())


def _json_error(exc: ApiError):
    db.session.rollback()
    return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.status


@bp.route("/admin/voice/<hall_code>/clips/<key>", methods=["POST"])
@login_required
def save_clip(hall_code: str, key: str):
    """One recorded clip (multipart field ``audio``), from the recording page."""
    actor = _admin()
    hall = _editable(actor, hall_code)
    if not _records_here():
        abort(409)
    upload = request.files.get("audio")
    try:
        row = operations.save_segment(hall, key, upload.read(operations.MAX_BYTES + 1)
                                      if upload else b"", actor=actor, now=now())
    except ApiError as exc:
        return _json_error(exc)
    answer = {"key": row.key, "duration_ms": row.duration_ms, "url": _clip_url(hall, row)}
    db.session.commit()
    return jsonify(answer)


@bp.route("/admin/voice/<hall_code>/clips/<key>/delete", methods=["POST"])
@login_required
def delete_clip(hall_code: str, key: str):
    actor = _admin()
    hall = _editable(actor, hall_code)
    if not _records_here():
        abort(409)
    try:
        operations.delete_segment(hall, key, actor=actor)
    except ApiError as exc:
        return _json_error(exc)
    db.session.commit()
    return jsonify({"key": key, "deleted": True})


@bp.route("/admin/voice/<hall_code>/import", methods=["POST"])
@login_required
def import_pack(hall_code: str):
    actor = _admin()
    hall = _editable(actor, hall_code)
    if not _records_here():
        abort(409)
    upload = request.files.get("pack")
    try:
        result = operations.import_zip(
            hall, upload.read(operations.MAX_ZIP_BYTES + 1) if upload else b"",
            actor=actor, now=now())
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("voice.pack_page", hall_code=hall.code)), 303
    db.session.commit()
    message = f"已导入 {len(result.saved)} 个语音片段 (imported {len(result.saved)} segments)"
    if result.ignored:
        message += f"；忽略 (ignored): {', '.join(result.ignored[:10])}"
    flash(message, "info")
    return redirect(url_for("voice.pack_page", hall_code=hall.code)), 303


@bp.route("/admin/voice/<hall_code>/export")
@login_required
def export_pack(hall_code: str):
    actor = _admin()
    hall = _editable(actor, hall_code)
    answer = Response(operations.export_zip(hall), mimetype="application/zip")
    answer.headers["Content-Disposition"] = f"attachment; filename=voice-{hall.code}.zip"
    answer.headers["Cache-Control"] = "no-store"
    return answer
