"""The supervisors' pages: the dashboard (/supervise), xlsx export of any of its tables, the
letters in print-ready HTML, and issuing letters from the page."""
from __future__ import annotations

from functools import wraps
from io import BytesIO

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from openpyxl import Workbook
from openpyxl.styles import Font
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Regexp

from service_hall.auth.operations import actor_for_user, issue_token
from service_hall.clock import now
from service_hall.errors import ApiError
from service_hall.extensions import db
from service_hall.supervision import tables
from service_hall.supervision.api import context_for, issue, letter_in_scope
from service_hall.supervision.models import KIND_TITLES

bp = Blueprint("supervision", __name__, template_folder="templates", url_prefix="/supervise")


class IssueForm(FlaskForm):
    month = StringField("月份 Month", validators=[DataRequired(), Regexp(r"^\d{4}-\d{2}$",
                                                  message="须为 YYYY-MM (like 2026-10)")])
    kind = SelectField("类别 Kind", choices=list(KIND_TITLES.items()))


def supervisors_only(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role not in ("supervisor", "admin"):
            abort(403)
        return view(actor_for_user(current_user._get_current_object()), *args, **kwargs)
    return wrapper


def _page_error(exc: ApiError):
    abort(exc.status, exc.message)


@bp.route("")
@supervisors_only
def dashboard(actor):
    try:
        ctx = context_for(actor, request.args.get("county"))
    except ApiError as exc:
        _page_error(exc)
    form = IssueForm()
    form.month.data = f"{ctx.today:%Y-%m}"
    from service_hall.catalog.models import Hall
    halls = [db.session.get(Hall, i) for i in ctx.hall_ids]
    halls.sort(key=lambda h: (h.level != "county", h.code))
    # The live cards follow each hall's staff room (window states go to staff, not to hall
    # screens: realtime/publish.py), so the page connects with the supervisor's token.
    settings = current_app.config["SERVICE_HALL"]
    live_token, _expires = issue_token(current_user, secret=settings.secret_key,
                                       hours=settings.token_hours, now=now())
    return render_template("supervision/dashboard.html", county=ctx.county, halls=halls,
                           form=form, today=ctx.today, live_token=live_token)


@bp.route("/export/<name>.xlsx")
@supervisors_only
def export(actor, name: str):
    try:
        table = tables.build(name, context_for(actor, request.args.get("county")), request.args)
    except ApiError as exc:
        _page_error(exc)
    book = Workbook()
    sheet = book.active
    sheet.title = table.name[:31]
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([label for _, label in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([row.get(key) for key, _ in table.columns])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    for k, (key, label) in enumerate(table.columns):
        sheet.column_dimensions[sheet.cell(row=2, column=k + 1).column_letter].width = max(
            10, min(40, len(label) + 4))
    buffer = BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"{name}-{table.name}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/letters/<letter_id>")
@supervisors_only
def letter_page(actor, letter_id: str):
    try:
        letter = letter_in_scope(actor, letter_id)
    except ApiError as exc:
        _page_error(exc)
    from service_hall.clock import tz
    return render_template("supervision/letter.html", letter=letter, c=letter.content, tz=tz())


@bp.route("/letters", methods=["POST"])
@supervisors_only
def issue_page(actor):
    form = IssueForm()
    if not form.validate_on_submit():
        flash("请填写月份 YYYY-MM 和类别 (month and kind required)", "error")
        return redirect(url_for("supervision.dashboard"))
    try:
        ctx = context_for(actor, request.args.get("county"))
        issued = issue(ctx, form.month.data, form.kind.data, department=None, hall=None)
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("supervision.dashboard"))
    db.session.commit()
    created = sum(1 for _, c in issued if c)
    flash(f"{KIND_TITLES[form.kind.data]}：新发 {created} 份，已发 {len(issued) - created} 份 "
          f"({created} issued, {len(issued) - created} kept)", "info")
    return redirect(url_for("supervision.dashboard", _anchor="letters"))
