from datetime import date

import pytest

from service_hall import documents, privacy
from service_hall.errors import ApiError
from tests.casework import BAD_ID, GOOD_ID


@pytest.mark.parametrize("name, masked", [("张三", "张*"), ("张小三", "张*三"), ("欧阳小明", "欧**明"),
                                          ("李", "李")])
def test_mask_name(name, masked):
    assert privacy.mask_name(name) == masked


def test_mask_id_and_phone():
    assert documents.mask(GOOD_ID) == "110105********002X"
    assert privacy.mask_phone("13812341234") == "138****1234"


def test_id_numbers_are_validated_by_check_digit():
    assert documents.validate("resident_id", GOOD_ID.lower(), today=date(2026, 2, 13)).number \
        == GOOD_ID
    with pytest.raises(ApiError) as bad:
        documents.validate("resident_id", BAD_ID, today=date(2026, 2, 13))
    assert bad.value.status == 422 and bad.value.code == "invalid_document_check_character"


def test_encryption_round_trip_and_keyed_hash(app):
    token = privacy.encrypt(GOOD_ID)
    assert GOOD_ID not in token and privacy.decrypt(token) == GOOD_ID
    assert privacy.encrypt(GOOD_ID) != token  # random IV: equal values do not look equal
    assert documents.lookup_hash(GOOD_ID) == documents.lookup_hash(GOOD_ID)
    assert documents.lookup_hash(GOOD_ID) != documents.lookup_hash("110105194912310038")
