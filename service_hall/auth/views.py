"""Sign-in and sign-out pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from service_hall.auth.operations import LoginError, authenticate
from service_hall.clock import now
from service_hall.extensions import db, limiter

bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    username = StringField("用户名 Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("密码 Password", validators=[DataRequired(), Length(max=200)])


def _home_for(user) -> str:
    if user.role == "clerk":
        return url_for("windows.console")
    return url_for("pages.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30/minute", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, now=now())
        except LoginError as exc:
            db.session.commit()
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), exc.status
        db.session.commit()
        session.permanent = True  # 30-minute idle lifetime, refreshed on each request
        login_user(user)
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = _home_for(user)
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
