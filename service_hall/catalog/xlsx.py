"""The item catalog as a spreadsheet (SPEC 3.1): real centres keep their item lists in Excel.

:func:`export_items` writes a hall's items to one sheet; :func:`read_sheet` reads the same sheet
back and checks every row (``catalog.xlsx_rows``), against the sheet itself and the database,
before anything is saved: a sheet with any error is refused whole with a per-row report
(:class:`SheetError`).
"""
from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.catalog.xlsx_rows import (BY_KEY, COLUMNS, ItemRow, RowError, SheetError,
                                            cell_text, check_against_database, check_across_rows,
                                            parse_row)
from service_hall.extensions import db
from windows.models import Window, window_items

__all__ = ["COLUMNS", "XLSX_TYPE", "ItemRow", "SheetError", "export_items", "read_sheet"]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "服务事项 Items"
MAX_ROWS = 5000

# ---- export ---------------------------------------------------------------------------------

def hall_items(hall: Hall) -> list[ServiceItem]:
    """Items owned by the hall's departments, in department then item order."""
    return list(db.session.scalars(
        select(ServiceItem).join(ServiceItem.department).where(Department.hall_id == hall.id)
        .options(joinedload(ServiceItem.department)).order_by(Department.code, ServiceItem.code)))


def windows_by_item(hall: Hall) -> dict:
    """Item id -> the numbers of the hall's windows serving it."""
    rows = db.session.execute(
        select(window_items.c.item_id, Window.number).join(Window, Window.id == window_items.c.window_id)
        .where(Window.hall_id == hall.id).order_by(Window.number))
    serving: dict = {}
    for item_id, number in rows:
        serving.setdefault(item_id, []).append(number)
    return serving


def export_items(hall: Hall) -> bytes:
    """The hall's item catalog as an xlsx workbook (one sheet, one item per row)."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append([column.label for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    serving = windows_by_item(hall)
    for item in hall_items(hall):
        sheet.append([_plain(value) for value in (
            item.department.code, item.department.name, item.code, item.name, item.prefix,
            item.kind, item.statutory_days, item.promised_days, "\n".join(item.materials or []),
            ", ".join(item.levels or []), "是" if item.agent_loggable else "否", item.daily_cap,
            ", ".join(str(n) for n in serving.get(item.id, [])))])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    wrap = Alignment(wrap_text=True, vertical="top")
    materials_column = get_column_letter(COLUMNS.index(BY_KEY["materials"]) + 1)
    for cell in sheet[materials_column][1:]:
        cell.alignment = wrap
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _plain(value):
    """Text as a cell can hold it (no control characters); numbers and None unchanged."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


# ---- import: reading and checking -----------------------------------------------------------

def read_sheet(data: bytes, hall: Hall) -> list[ItemRow]:
    """Parse and check every row; raise :class:`SheetError` listing every problem found."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book[SHEET_TITLE] if SHEET_TITLE in book.sheetnames else book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2))
    except Exception:  # openpyxl and zipfile raise many kinds for a file that is not an xlsx
        raise SheetError([RowError(0, "file", "文件不是有效的 xlsx 表格",
                                   "the file is not a valid xlsx workbook")])
    if not rows:
        raise SheetError([RowError(1, "file", "表格为空", "the sheet is empty")])
    if len(rows) > MAX_ROWS + 1:
        raise SheetError([RowError(0, "file", f"表格最多 {MAX_ROWS} 行",
                                   f"at most {MAX_ROWS} rows")])
    positions, errors = _header(rows[0])
    if errors:
        raise SheetError(errors)
    parsed: list[ItemRow] = []
    for number, values in enumerate(rows[1:], start=2):
        cells = {key: values[index] if index < len(values) else None
                 for key, index in positions.items()}
        if all(cell_text(value) == "" for value in cells.values()):
            continue  # blank rows between blocks are common in hand-kept sheets
        row, row_errors = parse_row(number, cells, has_windows="windows" in positions)
        errors += row_errors
        if row is not None:
            parsed.append(row)
    if not parsed and not errors:
        raise SheetError([RowError(2, "file", "表格没有事项行", "the sheet has no item rows")])
    errors += check_across_rows(parsed)
    errors += check_against_database(parsed, hall)
    if errors:
        raise SheetError(errors)
    return parsed


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _header(values: tuple) -> tuple[dict[str, int], list[RowError]]:
    names: dict[str, str] = {}
    for column in COLUMNS:
        for name in (column.label, column.zh, column.en, column.key):
            names[_normal(name)] = column.key
    positions: dict[str, int] = {}
    for index, value in enumerate(values):
        key = names.get(_normal(cell_text(value)))
        if key is not None and key not in positions:
            positions[key] = index
    errors = [RowError(1, column.key, f"缺少表头“{column.zh}”", f"missing header {column.en!r}")
              for column in COLUMNS if column.required_header and column.key not in positions]
    return positions, errors

