"""Catalog API: halls, the items a hall offers, its windows."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service_hall.api import endpoint
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code, offered_items
from service_hall.extensions import db
from windows.models import Window
from service_hall.schemas import HALL, ITEM, WINDOW, array


@endpoint("/halls", "GET", summary="All halls: the county centre, townships and village points",
          tag="catalog", responses={200: array(HALL)})
def list_halls(actor):
    halls = db.session.scalars(select(Hall).options(selectinload(Hall.parent))
                               .order_by(Hall.level, Hall.code))
    return jsonify([hall.public() for hall in halls])


@endpoint("/halls/<hall_code>/items", "GET", summary="The service items a hall offers",
          tag="catalog", responses={200: array(ITEM), 404: None})
def list_items(actor, hall_code: str):
    return jsonify([item.public() for item in offered_items(hall_by_code(hall_code))])


@endpoint("/halls/<hall_code>/windows", "GET", summary="A hall's windows and their states",
          tag="catalog", responses={200: array(WINDOW), 404: None})
def list_windows(actor, hall_code: str):
    hall = hall_by_code(hall_code)
    windows = db.session.scalars(select(Window).where(Window.hall_id == hall.id)
                                 .options(selectinload(Window.items), selectinload(Window.department))
                                 .order_by(Window.number))
    return jsonify([window.public() for window in windows])
