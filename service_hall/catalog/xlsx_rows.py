"""Rows of the item sheet: its columns, the reading of each cell and the checks of each row,
against the other rows and against the database. Every problem becomes a :class:`RowError`
(row, column, message in Chinese and English); nothing here writes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_hall.catalog.models import HALL_LEVELS, RESERVED_PREFIXES, Department, Hall, ServiceItem
from service_hall.extensions import db
from windows.models import Window

MAX_MATERIALS = 50
MAX_DAYS = 3650
MAX_REPORTED = 500


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    width: int
    required_header: bool = True

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


COLUMNS = [
    Column("department_code", "部门编码", "Department code", 12),
    Column("department_name", "部门名称", "Department name", 28),
    Column("code", "事项编码", "Item code", 14),
    Column("name", "事项名称", "Item name", 34),
    Column("prefix", "号码字母", "Prefix", 9),
    Column("kind", "办件类型", "Kind", 11),
    Column("statutory_days", "法定时限", "Statutory days", 10),
    Column("promised_days", "承诺时限", "Promised days", 10),
    Column("materials", "申请材料（每行一项）", "Materials (one per line)", 36),
    Column("levels", "可办层级", "Levels", 24),
    Column("agent_loggable", "可代办", "Agent-loggable", 9),
    Column("daily_cap", "每日限号", "Daily cap", 9),
    Column("windows", "服务窗口", "Windows", 22, required_header=False),
]
BY_KEY = {column.key: column for column in COLUMNS}
TEXT_LIMITS = {"department_code": 32, "department_name": 100, "code": 40, "name": 200}
KIND_ALIASES = {"immediate": "immediate", "即办件": "immediate", "即办": "immediate",
                "promise": "promise", "承诺件": "promise", "承诺": "promise"}
LEVEL_ALIASES = {"county": "county", "县": "county", "县级": "county",
                 "township": "township", "乡镇": "township", "镇": "township",
                 "village": "village", "村": "village", "村级": "village"}
YES = {"是", "yes", "y", "true", "1", "可"}
NO = {"否", "no", "n", "false", "0", "不可", ""}
SPLIT = re.compile(r"[,，、;；\s]+")


@dataclass
class RowError:
    row: int
    key: str
    zh: str
    en: str

    def as_dict(self) -> dict:
        column = BY_KEY.get(self.key)
        letter = get_column_letter(COLUMNS.index(column) + 1) if column else ""
        return {"row": self.row, "column": letter,
                "field": self.key, "message": f"{self.zh} ({self.en})"}


class SheetError(Exception):
    """The sheet cannot be imported; ``errors`` says where and why, row by row."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = sorted(errors, key=lambda e: (e.row, COLUMNS.index(BY_KEY[e.key])
                                                    if e.key in BY_KEY else -1))

    def report(self) -> list[dict]:
        return [error.as_dict() for error in self.errors[:MAX_REPORTED]]


@dataclass
class ItemRow:
    """One valid row, ready to be saved."""
    row: int
    department_code: str
    department_name: str
    code: str
    name: str
    prefix: str
    kind: str
    statutory_days: int
    promised_days: int
    materials: list[str]
    levels: list[str]
    agent_loggable: bool
    daily_cap: int | None
    windows: list[int] | None  # None: the sheet has no windows column, leave them as they are
    department: Department | None = field(default=None, repr=False)
    item: ServiceItem | None = field(default=None, repr=False)


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed as a number: 610826.0 -> "610826"
    return str(value).strip()


def _integer(value) -> int | None | str:
    """An int, None for an empty cell, or the string "bad"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else "bad"
    text = str(value).strip()
    return int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else "bad"


def parse_row(number: int, cells: dict, *, has_windows: bool) -> tuple[ItemRow | None, list[RowError]]:
    errors: list[RowError] = []

    def fail(key: str, zh: str, en: str) -> None:
        errors.append(RowError(number, key, zh, en))

    text = {key: cell_text(cells.get(key)) for key in TEXT_LIMITS}
    for key in ("department_code", "code", "name"):
        if not text[key]:
            fail(key, f"“{BY_KEY[key].zh}”不能为空", f"{BY_KEY[key].en} is required")
    for key, limit in TEXT_LIMITS.items():
        if len(text[key]) > limit:
            fail(key, f"“{BY_KEY[key].zh}”最多 {limit} 个字符",
                 f"{BY_KEY[key].en} is longer than {limit} characters")

    prefix = cell_text(cells.get("prefix"))
    if not prefix:
        fail("prefix", "“号码字母”不能为空", "prefix is required")
    elif not re.fullmatch(r"[A-Z]", prefix):
        fail("prefix", "号码字母须为 A–Z 中的一个大写字母", "prefix must be one letter A-Z")
    elif prefix in RESERVED_PREFIXES:
        fail("prefix", f"号码字母 {prefix} 为保留字母（V 绿色通道，Y 预约）",
             f"prefix {prefix} is reserved (V green channel, Y appointments)")

    kind_text = cell_text(cells.get("kind"))
    kind = KIND_ALIASES.get(kind_text.lower())
    if not kind_text:
        fail("kind", "“办件类型”不能为空", "kind is required")
    elif kind is None:
        fail("kind", "办件类型须为 immediate（即办件）或 promise（承诺件）",
             "kind must be immediate or promise")

    days: dict[str, int] = {}
    unusable: set[str] = set()  # wrong or missing: not compared with the other limit
    for key in ("statutory_days", "promised_days", "daily_cap"):
        value = _integer(cells.get(key))
        if value == "bad":
            fail(key, f"“{BY_KEY[key].zh}”须为整数", f"{BY_KEY[key].en} must be a whole number")
        elif value is not None and value < 0:
            fail(key, f"“{BY_KEY[key].zh}”不能为负数", f"{BY_KEY[key].en} cannot be negative")
        elif value is not None and value > MAX_DAYS and key != "daily_cap":
            fail(key, f"“{BY_KEY[key].zh}”不能超过 {MAX_DAYS}",
                 f"{BY_KEY[key].en} cannot exceed {MAX_DAYS}")
        elif value is None and kind == "promise" and key != "daily_cap":
            fail(key, f"承诺件须填写“{BY_KEY[key].zh}”",
                 f"{BY_KEY[key].en} is required for a promise item")
        else:
            if value is not None:
                days[key] = value
            continue
        unusable.add(key)
    if kind == "promise" and days.get("promised_days") == 0:
        fail("promised_days", "承诺件的承诺时限至少为 1 个工作日",
             "a promise item needs at least 1 promised working day")
    if not unusable & {"statutory_days", "promised_days"}:
        if days.get("promised_days", 0) > days.get("statutory_days", 0):
            fail("promised_days", "承诺时限不能超过法定时限",
                 "promised days cannot exceed statutory days")
    if days.get("daily_cap") == 0:
        fail("daily_cap", "每日限号须至少为 1，不限请留空", "daily cap must be at least 1 (empty: none)")

    materials = [line.strip() for line in cell_text(cells.get("materials")).splitlines()
                 if line.strip()]
    if len(materials) > MAX_MATERIALS:
        fail("materials", f"申请材料最多 {MAX_MATERIALS} 项", f"at most {MAX_MATERIALS} materials")
    if any(len(line) > 200 for line in materials):
        fail("materials", "每项材料最多 200 个字符", "a material is longer than 200 characters")

    levels_text = cell_text(cells.get("levels"))
    levels_raw = [part for part in SPLIT.split(levels_text) if part]
    levels = list(dict.fromkeys(LEVEL_ALIASES.get(part.lower(), "?") for part in levels_raw))
    if not levels_raw:
        fail("levels", "“可办层级”不能为空", "levels is required")
    elif "?" in levels:
        fail("levels", "可办层级须为 county、township、village（县、乡镇、村）",
             "levels must be among county, township, village")

    loggable_text = cell_text(cells.get("agent_loggable")).lower()
    if loggable_text not in YES | NO:
        fail("agent_loggable", "“可代办”须为 是 或 否", "agent-loggable must be yes or no")

    windows: list[int] | None = None
    if has_windows:
        windows = []
        for part in SPLIT.split(cell_text(cells.get("windows"))):
            if not part:
                continue
            if not re.fullmatch(r"\d{1,4}", part) or int(part) < 1:
                fail("windows", f"窗口号“{part[:20]}”无效", f"window number {part[:20]!r} is invalid")
                break
            windows.append(int(part))

    if errors:
        return None, errors
    return ItemRow(row=number, department_code=text["department_code"],
                   department_name=text["department_name"], code=text["code"], name=text["name"],
                   prefix=prefix, kind=kind, statutory_days=days.get("statutory_days", 0),
                   promised_days=days.get("promised_days", 0), materials=materials,
                   levels=[level for level in HALL_LEVELS if level in levels],
                   agent_loggable=loggable_text in YES,
                   daily_cap=days.get("daily_cap"),
                   windows=sorted(set(windows)) if windows is not None else None), []


def check_across_rows(rows: list[ItemRow]) -> list[RowError]:
    errors = []
    first_row: dict[str, int] = {}
    department_names: dict[str, tuple[int, str]] = {}
    for row in rows:
        if row.code in first_row:
            errors.append(RowError(row.row, "code", f"事项编码 {row.code} 与第 {first_row[row.code]} 行重复",
                                   f"item code {row.code} repeats row {first_row[row.code]}"))
        else:
            first_row[row.code] = row.row
        if row.department_name:
            seen = department_names.setdefault(row.department_code, (row.row, row.department_name))
            if seen[1] != row.department_name:
                errors.append(RowError(
                    row.row, "department_name",
                    f"部门 {row.department_code} 的名称与第 {seen[0]} 行不同",
                    f"department {row.department_code} is named differently in row {seen[0]}"))
    return errors


def check_against_database(rows: list[ItemRow], hall: Hall) -> list[RowError]:
    errors = []
    codes = {row.department_code for row in rows}
    departments = {d.code: d for d in db.session.scalars(
        select(Department).where(Department.code.in_(codes)))} if codes else {}
    named = {row.department_code for row in rows if row.department_name}
    items = {i.code: i for i in db.session.scalars(
        select(ServiceItem).where(ServiceItem.code.in_([row.code for row in rows]))
        .options(joinedload(ServiceItem.department)))} if rows else {}
    numbers = set(db.session.scalars(select(Window.number).where(Window.hall_id == hall.id)))
    for row in rows:
        department = departments.get(row.department_code)
        if department is None and row.department_code not in named:
            errors.append(RowError(row.row, "department_code",
                                   f"没有编码为 {row.department_code} 的部门，新部门须填写部门名称",
                                   f"unknown department {row.department_code}; give a name to "
                                   f"create it"))
        elif department is not None and department.hall_id != hall.id:
            errors.append(RowError(row.row, "department_code",
                                   f"部门 {row.department_code} 属于其他大厅",
                                   f"department {row.department_code} belongs to another hall"))
        item = items.get(row.code)
        if item is not None and item.department.hall_id != hall.id:
            errors.append(RowError(row.row, "code", f"事项编码 {row.code} 已被其他大厅使用",
                                   f"item code {row.code} belongs to another hall"))
        unknown = [n for n in row.windows or [] if n not in numbers]
        if unknown:
            errors.append(RowError(row.row, "windows",
                                   f"本大厅没有{'、'.join(map(str, unknown[:5]))}号窗口",
                                   f"no window {', '.join(map(str, unknown[:5]))} in hall {hall.code}"))
        row.department, row.item = department, item
    return errors
