"""The administrator's catalog page: download the item sheet, upload it back."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField

from service_hall.auth.operations import actor_for_user
from service_hall.catalog.api import read_upload
from service_hall.catalog.models import Hall
from service_hall.catalog.operations import import_workbook
from service_hall.catalog.xlsx import SheetError
from service_hall.errors import ApiError
from service_hall.extensions import db

bp = Blueprint("catalog", __name__, template_folder="templates", url_prefix="/admin")


class UploadForm(FlaskForm):
    hall = SelectField("大厅 Hall")
    file = FileField("事项表 Item sheet (.xlsx)", validators=[
        FileRequired("请选择文件 (choose a file)"),
        FileAllowed(["xlsx"], "只接受 .xlsx 文件 (only .xlsx files)")])


def _halls(actor) -> list[Hall]:
    halls = db.session.scalars(select(Hall).where(Hall.level.in_(("county", "township")))
                               .order_by(Hall.level, Hall.code))
    return [hall for hall in halls if actor.may_see_hall(hall)]


@bp.route("/catalog", methods=["GET", "POST"])
@login_required
def catalog_page():
    if current_user.role != "admin":
        abort(403)
    actor = actor_for_user(current_user._get_current_object())
    halls = _halls(actor)
    form = UploadForm()
    form.hall.choices = [(hall.code, f"{hall.name} ({hall.code})") for hall in halls]
    if not form.is_submitted() and current_user.hall is not None:
        form.hall.data = current_user.hall.code
    report, status = None, 200
    if form.validate_on_submit():
        hall = next(hall for hall in halls if hall.code == form.hall.data)
        try:
            result = import_workbook(read_upload(form.file.data), hall, actor=actor)
        except SheetError as exc:
            db.session.rollback()
            report, status = exc.report(), 422
        except ApiError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = exc.status
        else:
            db.session.commit()
            flash(f"导入完成：新建 {result.created} 项，更新 {result.updated} 项 "
                  f"(imported: {result.created} created, {result.updated} updated)", "info")
            return redirect(url_for("catalog.catalog_page"))
    elif form.is_submitted():
        status = 400
    return render_template("catalog/admin.html", form=form, halls=halls, report=report), status
