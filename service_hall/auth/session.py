"""Page sessions (Flask-Login): 30-minute idle timeout, revoked with the token generation."""
from __future__ import annotations

import uuid

from flask import Flask
from flask_login import LoginManager

from service_hall.auth.models import User
from service_hall.extensions import db

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load(session_id: str) -> User | None:
    user_id, _, generation = session_id.partition(":")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or not user.active or str(user.token_generation) != generation:
        return None
    return user


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
