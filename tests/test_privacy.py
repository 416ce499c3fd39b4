import pytest

from service_hall import privacy
from service_hall.errors import ApiError
from tests.casework import BAD_ID, GOOD_ID


@pytest.mark.parametrize("name, masked", [("张三", "张*"), ("张小三", "张*三"), ("欧阳小明", "欧**明"),
                                          ("李", "李")])
def test_mask_name(name, masked):
    assert privacy.mask_name(name) == masked


def test_mask_id_and_phone():
    assert privacy.mask_id_number(GOOD_ID) == "110105********002X"
    assert privacy.mask_phone("13812341234") == "138****1234"


def test_id_numbers_are_validated_by_check_digit():
    assert privacy.normalise_id_number(GOOD_ID.lower()) == GOOD_ID
    with pytest.raises(ApiError) as bad:
        privacy.normalise_id_number(BAD_ID)
    assert bad.value.status == 422 and bad.value.code == "invalid_id_number"


def test_encryption_round_trip_and_keyed_hash(app):
    token = privacy.encrypt(GOOD_ID)
    assert GOOD_ID not in token and privacy.decrypt(token) == GOOD_ID
    assert privacy.encrypt(GOOD_ID) != token  # random IV: equal values do not look equal
    assert privacy.lookup_hash(GOOD_ID) == privacy.lookup_hash(GOOD_ID)
    assert privacy.lookup_hash(GOOD_ID) != privacy.lookup_hash("110105194912310038")
