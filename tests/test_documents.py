"""Identity documents (SPEC 3.9) against vectors worked out by hand.

The check character of an 18-character number (resident ID, Hong Kong/Macao/Taiwan residence
permit, 2023 permanent residence ID) is ISO 7064 MOD 11-2: S = Σ digit_i × W_i over the first 17
digits with W = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, then the character is
"10X98765432"[S mod 11]. Worked for the Suide villager born 1950-03-15:

    6 1 0 8 2 6 1 9 5 0 0 3 1 5 0 0 2
    42+9+0+40+16+24+2+9+30+0+0+27+10+25+0+0+4 = 238;  238 mod 11 = 7  ->  "5"
    610826 19500315 002 5

``mod_11_2`` below is that arithmetic written out (not stdnum's), and each vector states its sum.
"""
from datetime import date

import pytest

from service_hall import documents
from service_hall.documents import InvalidDocument

TODAY = date(2026, 12, 3)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def mod_11_2(first17: str) -> tuple[int, str]:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return total, "10X98765432"[total % 11]


# (type, number, the weighted sum S of its first 17 digits, as worked by hand)
VALID_18 = [
    # 42+9+0+40+16+24+2+9+30+0+0+27+10+25+0+0+4 = 238, mod 11 = 7 -> 5
    ("resident_id", "610826195003150025", 238),   # Suide (610826 since 1999), born 1950
    # 42+9+0+40+16+24+2+9+48+15+0+54+10+5+0+0+6 = 280, mod 11 = 5 -> 7
    ("resident_id", "610826198506110037", 280),   # Suide, born 1985
    # 42+9+0+40+16+24+4+0+0+3+0+81+20+0+0+0+8 = 247, mod 11 = 5 -> 7
    ("resident_id", "610826200109200047", 247),   # Suide, born 2001
    # 42+9+20+35+16+28+2+9+36+9+0+63+0+40+0+0+2 = 311, mod 11 = 3 -> 9
    ("resident_id", "612727196307080019", 311),   # Suide's code before 1999 (612727)
    # 56+9+0+0+0+0+2+9+54+0+0+9+0+5+0+0+2 = 146, mod 11 = 3 -> 9
    ("hmt_residence", "810000199001010019", 146),  # Hong Kong
    # 56+18+0+0+0+0+2+9+48+15+7+18+10+10+0+0+4 = 197, mod 11 = 10 -> 2
    ("hmt_residence", "820000198512120022", 197),  # Macao
    # 56+27+0+0+0+0+2+9+42+24+7+0+10+0+0+0+6 = 183, mod 11 = 7 -> 5
    ("hmt_residence", "830000197810100035", 183),  # Taiwan
    # 63+9+50+30+0+0+2+9+48+0+0+18+0+10+0+0+2 = 241, mod 11 = 10 -> 2
    ("foreign_pr", "915600198002020012", 241),     # 2023 form: 9…, MOD 11-2 like a resident ID
]


@pytest.mark.parametrize("doc_type, number, total", VALID_18)
def test_valid_18_character_numbers(doc_type, number, total):
    assert mod_11_2(number[:17]) == (total, number[17])
    doc = documents.validate(doc_type, number, today=TODAY)
    assert (doc.type, doc.number) == (doc_type, number)


def test_foreign_permanent_residence_old_15_character_form():
    assert documents.validate("foreign_pr", "usa310075012345", today=TODAY).number \
        == "USA310075012345"
    with pytest.raises(InvalidDocument) as bad:
        documents.validate("foreign_pr", "US3310075012345", today=TODAY)
    assert bad.value.part == "format"


def test_unified_social_credit_code_has_its_own_check_character():
    # GB 32100-2015: characters 0-9A-HJ-NP-RTUWXY valued 0..30, weights 3^i mod 31
    # (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28); for 91612727MA70X1234 (M=21, A=10,
    # X=28): 9+3+54+27+38+182+32+119+420+290+175+0+232+24+20+90+112 = 1827; 1827 mod 31 = 29;
    # 31 - 29 = 2 -> the check character "2".
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91612727MA70X1234"
    total = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    assert (total, alphabet[(31 - total % 31) % 31]) == (1827, "2")
    assert documents.validate("uscc", "91612727MA70X12342", today=TODAY).number \
        == "91612727MA70X12342"
    with pytest.raises(InvalidDocument) as bad:
        documents.validate("uscc", "91612727MA70X12343", today=TODAY)
    assert bad.value.part == "check_character"


@pytest.mark.parametrize("doc_type, number, part", [
    ("resident_id", "610826195003150026", "check_character"),  # 5 is right, not 6
    ("resident_id", "61082619500315002X", "check_character"),
    ("resident_id", "610826195002300025", "date"),             # 1950-02-30
    ("resident_id", "610826203003150025", "date"),             # born 2030: the future
    ("resident_id", "610826202612040025", "date"),             # tomorrow
    ("resident_id", "999999195003150025", "region"),           # no such code in any year
    ("resident_id", "610899195003150025", "region"),
    ("resident_id", "810000199001010019", "region"),           # a residence permit: its type
    ("resident_id", "61082619500315002", "length"),
    ("resident_id", "6108261950031500255", "length"),
    ("resident_id", "61082619500315A025", "format"),
    ("hmt_residence", "610826195003150025", "region"),
    ("hmt_residence", "830000197810100036", "check_character"),
    ("foreign_pr", "815600198002020012", "format"),
    ("foreign_pr", "915600198002300012", "date"),
    ("passport", "E1", "format"),
    ("hk_mo_permit", "X12345678", "format"),
    ("tw_permit", "1234567", "format"),
    ("resident_id", "", "length"),
    ("resident_id", "6" * 41, "length"),
])
def test_refusals_name_the_wrong_part(doc_type, number, part):
    with pytest.raises(InvalidDocument) as bad:
        documents.validate(doc_type, number, today=TODAY)
    error = bad.value
    assert error.status == 422 and error.part == part
    assert error.code == f"invalid_document_{part}"
    assert documents.PARTS[part] in error.message            # the part, in Chinese
    assert error.details == [{"field": "document.number", "part": part}]


def test_future_is_today_in_the_hall_not_a_fixed_year():
    born_today = "610826202612030000"
    first17 = born_today[:17]
    number = first17 + mod_11_2(first17)[1]
    assert documents.validate("resident_id", number, today=TODAY).number == number


def test_full_width_digits_spaces_and_lower_case_x_are_normalised():
    assert documents.validate("resident_id", "６１０８２６　１９５００３１５　００２５",
                              today=TODAY).number == "610826195003150025"
    assert documents.validate("resident_id", "11010519491231002ｘ", today=TODAY).number \
        == "11010519491231002X"
    assert documents.validate("hk_mo_permit", "ｈ12345678 00", today=TODAY).number \
        == "H1234567800"


def test_region_table_holds_every_year():
    codes = documents.region_codes()
    assert {"610826", "612727", "110000", "320102"} <= codes  # 320102: Nanjing Xuanwu, any year
    assert "999999" not in codes


def test_unknown_type_is_refused_by_name():
    with pytest.raises(InvalidDocument) as bad:
        documents.validate("driving_licence", "123", today=TODAY)
    assert bad.value.part == "type" and bad.value.details[0]["field"] == "document.type"


def test_from_person_takes_the_document_or_the_resident_id_number():
    doc = documents.from_person({"document": {"type": "tw_permit", "number": "12345678"},
                                 "id_number": "ignored"}, today=TODAY)
    assert doc == documents.Document("tw_permit", "12345678")
    assert documents.from_person({"id_number": "610826195003150025"}, today=TODAY) \
        == documents.Document("resident_id", "610826195003150025")


def test_masking_and_sealing():
    assert documents.mask("610826195003150025") == "610826********0025"
    assert documents.mask("E12345678") == "*********"
    for doc in (documents.Document("resident_id", "610826195003150025"),
                documents.Document("passport", "E12345678")):
        assert documents.unseal(documents.seal(doc)) == doc
    assert documents.seal(documents.Document("resident_id", "610826195003150025")) \
        == "610826195003150025"   # the rows written before document types read the same
