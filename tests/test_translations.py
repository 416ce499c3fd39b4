"""English is available for every string marked for translation, and the compiled catalog is
committed up to date."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo

from service_hall.translations.en import EN

ROOT = Path(__file__).resolve().parent.parent
MO = ROOT / "service_hall" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"


def marked_strings() -> set[str]:
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_an_english_translation():
    missing = sorted(marked_strings() - set(EN))
    assert not missing, f"add to service_hall/translations/en.py and rebuild: {missing}"


def test_compiled_catalog_matches_the_translations():
    with open(MO, "rb") as handle:
        catalog = read_mo(handle)
    compiled = {m.id: m.string for m in catalog if m.id}
    for msgid in marked_strings():
        assert compiled.get(msgid) == EN[msgid], (
            f"{msgid!r}: run python -m service_hall.translations.en")
