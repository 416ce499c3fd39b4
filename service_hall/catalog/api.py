"""Catalog API: halls, the items a hall offers, its windows; the item catalog as xlsx."""
from __future__ import annotations

import io
from dataclasses import asdict

from flask import jsonify, request, send_file
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from service_hall.api import require_scope
from service_hall.api import Media, endpoint
from service_hall.auth.actor import Actor
from service_hall.catalog.models import Hall
from service_hall.catalog.operations import import_workbook
from service_hall.catalog.queries import hall_by_code, offered_items
from service_hall.catalog.xlsx import XLSX_TYPE, SheetError, export_items
from service_hall.errors import ApiError, bad_request, unprocessable
from service_hall.extensions import db
from service_hall.schemas import HALL, IMPORT_RESULT, ITEM, WINDOW, array
from windows.models import Window


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


XLSX_QUERY = {"hall": {"type": "string", "minLength": 1, "maxLength": 32,
                       "description": "hall code (default: the caller's hall)"}}
UPLOAD = {"type": "object", "required": ["file"],
          "properties": {"file": {"type": "string", "format": "binary",
                                  "contentMediaType": XLSX_TYPE,
                                  "description": "the sheet, as exported"}}}
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def target_hall(actor: Actor, code: str | None) -> Hall:
    """The hall named by ``?hall=``, else the caller's own; it must be in the caller's scope."""
    code = (code or "").strip()
    if not code:
        if actor.hall_id is None:
            raise bad_request("请指定大厅 (hall is required)", "hall_required")
        hall = db.session.get(Hall, actor.hall_id)
    else:
        hall = hall_by_code(code[:100])
    require_scope(actor, hall)
    return hall


def read_upload(upload: FileStorage) -> bytes:
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "file_too_large", "文件超过 5 MB (the file is larger than 5 MB)")
    return data


def sheet_error(exc: SheetError) -> ApiError:
    count = len(exc.errors)
    return unprocessable(f"表格有 {count} 处错误，未导入任何事项 ({count} errors in the sheet; "
                         f"nothing was imported)", "invalid_sheet", details=exc.report())


@endpoint("/catalog/items.xlsx", "GET", summary="Export a hall's item catalog as a spreadsheet",
          tag="catalog", allow=("admin", "supervisor"), query=XLSX_QUERY,
          responses={200: Media(XLSX_TYPE), 400: None, 403: None, 404: None})
def export_catalog(actor: Actor):
    hall = target_hall(actor, request.args.get("hall"))
    return send_file(io.BytesIO(export_items(hall)), mimetype=XLSX_TYPE, as_attachment=True,
                     download_name=f"items-{hall.code}.xlsx")


@endpoint("/catalog/items.xlsx", "POST",
          summary="Import items from a spreadsheet: every row checked, all or nothing",
          tag="catalog", allow=("admin",), upload=UPLOAD, query=XLSX_QUERY,
          responses={200: IMPORT_RESULT, 400: None, 403: None, 404: None, 413: None, 422: None})
def import_catalog(actor: Actor, upload: dict):
    hall = target_hall(actor, request.args.get("hall"))
    try:
        result = import_workbook(read_upload(upload["file"]), hall, actor=actor)
    except SheetError as exc:
        raise sheet_error(exc)
    db.session.commit()
    return jsonify(asdict(result))
