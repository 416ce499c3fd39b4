"""JSON Schemas of the API's answers, used by the OpenAPI document and the contract tests."""
from __future__ import annotations

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
NDATETIME = {"type": ["string", "null"], "format": "date-time"}
DATE = {"type": "string", "format": "date"}


def obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


def array(item: dict) -> dict:
    return {"type": "array", "items": item}


HALL = obj({"code": STR, "name": STR, "level": {"enum": ["county", "township", "village"]},
            "parent_code": NSTR, "linked": BOOL})
ITEM = obj({"code": STR, "name": STR, "department": STR, "prefix": STR,
            "kind": {"enum": ["immediate", "promise"]}, "promised_days": INT},
           {"department_code": STR, "statutory_days": INT, "materials": array(STR),
            "daily_cap": NINT, "agent_loggable": BOOL})
WINDOW = obj({"code": STR, "number": INT, "department": STR,
              "state": {"enum": ["closed", "idle", "serving", "paused", "away"]},
              "item_codes": array(STR)})
TICKET = obj({"id": STR, "number": STR, "status": STR, "item_code": STR,
              "window_number": NINT, "issued_at": DATETIME, "called_at": NDATETIME,
              "finished_at": NDATETIME},
             {"green_channel": BOOL, "call_count": INT, "transferred_in": BOOL,
              "service_day": DATE})
ISSUED = obj({"id": STR, "number": STR, "status": STR, "item_code": STR, "waiting_ahead": INT,
              "estimated_wait_minutes": INT, "track_token": STR, "issued_at": DATETIME},
             {"item_name": STR, "hall_code": STR, "hall_name": STR, "track_url": STR,
              "printed": BOOL})
TRACK = obj({"number": STR, "status": STR, "waiting_ahead": INT},
            {"window_number": NINT, "estimated_wait_minutes": INT, "item_name": STR, "item_code": STR,
             "hall_name": STR, "hall_code": STR, "call_count": INT, "issued_at": DATETIME})
ERROR = obj({"error": obj({"code": STR, "message": STR},
                          {"details": array({"type": "object"})})})
IMPORT_RESULT = obj({"created": INT, "updated": INT},
                    {"departments_created": INT, "departments_updated": INT})
