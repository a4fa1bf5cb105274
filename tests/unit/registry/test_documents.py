from __future__ import annotations

from datetime import date

import pytest

from portraitmatch.registry.documents import (
    DocumentType,
    normalise_document_number,
    normalise_name,
    validate_document,
)
from portraitmatch.registry.refusals import DocumentExpiredError, DocumentInvalidError
from tests.unit.registry.samples import resident_id, td3

TODAY = date(2026, 11, 22)


def _resident(**kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "document_type": DocumentType.RESIDENT_ID,
        "holder_name": "张三",
        "today": TODAY,
        "number": resident_id(),
        "expires_on": date(2030, 1, 1),
    }
    args.update(kw)
    return validate_document(**args)  # type: ignore[arg-type]


def test_a_valid_resident_id() -> None:
    doc = _resident()
    assert doc.type is DocumentType.RESIDENT_ID
    assert doc.number == resident_id()
    assert doc.birth_date == date(1990, 3, 7)
    assert doc.lookup_subject == f"resident_id:{resident_id()}"


def test_an_expired_resident_id_is_refused() -> None:
    with pytest.raises(DocumentExpiredError) as err:
        _resident(expires_on=date(2026, 11, 21))
    assert err.value.code == "DOCUMENT_EXPIRED"
    assert _resident(expires_on=TODAY).expires_on == TODAY  # valid through its last day


def test_resident_id_needs_an_expiry_or_long_term() -> None:
    with pytest.raises(DocumentInvalidError) as err:
        _resident(expires_on=None)
    assert err.value.code == "EXPIRY_REQUIRED"
    with pytest.raises(DocumentInvalidError) as err:
        _resident(is_long_term=True)
    assert err.value.code == "EXPIRY_AMBIGUOUS"


def test_long_term_cards_only_for_holders_aged_46_or_more() -> None:
    young = resident_id(birth=date(1990, 3, 7))
    with pytest.raises(DocumentInvalidError) as err:
        _resident(number=young, expires_on=None, is_long_term=True)
    assert err.value.code == "LONG_TERM_IMPOSSIBLE"
    old = resident_id(birth=date(1960, 1, 1))
    assert _resident(number=old, expires_on=None, is_long_term=True).expires_on is None


def test_a_passport_is_read_from_its_mrz() -> None:
    doc = validate_document(
        document_type=DocumentType.PASSPORT,
        holder_name="Zhang San",
        today=TODAY,
        mrz=td3(expiry=date(2031, 5, 1)),
    )
    assert doc.number == "E12345678"
    assert doc.expires_on == date(2031, 5, 1)
    assert doc.lookup_subject == "passport:CHN:E12345678"


def test_passport_holder_name_in_chinese_is_accepted_and_latin_must_match() -> None:
    assert (
        validate_document(
            document_type=DocumentType.PASSPORT, holder_name="张三", today=TODAY, mrz=td3()
        ).holder_name
        == "张三"
    )
    assert validate_document(  # order of surname and given names does not matter
        document_type=DocumentType.PASSPORT, holder_name="san zhang", today=TODAY, mrz=td3()
    )
    with pytest.raises(DocumentInvalidError) as err:
        validate_document(document_type=DocumentType.PASSPORT, holder_name="Li Si", today=TODAY, mrz=td3())
    assert err.value.code == "MRZ_NAME_MISMATCH"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"mrz": None}, "MRZ_REQUIRED"),
        ({"number": "E99999999"}, "MRZ_NUMBER_MISMATCH"),
        ({"expires_on": date(2031, 5, 2)}, "MRZ_EXPIRY_MISMATCH"),
        ({"is_long_term": True}, "LONG_TERM_IMPOSSIBLE"),
        ({"mrz": td3(expiry=date(2026, 11, 1))}, "DOCUMENT_EXPIRED"),
    ],
)
def test_passport_refusals(kwargs: dict[str, object], code: str) -> None:
    args: dict[str, object] = {
        "document_type": DocumentType.PASSPORT,
        "holder_name": "Zhang San",
        "today": TODAY,
        "mrz": td3(),
    }
    args.update(kwargs)
    with pytest.raises(DocumentInvalidError) as err:
        validate_document(**args)  # type: ignore[arg-type]
    assert err.value.code == code


@pytest.mark.parametrize("name", ["", "   ", "张三3", "Robert'); DROP", "a" * 65, "x\u0000y"])
def test_bad_names(name: str) -> None:
    with pytest.raises(DocumentInvalidError) as err:
        normalise_name(name)
    assert err.value.code == "HOLDER_NAME_INVALID"


def test_names_keep_scripts_and_separators() -> None:
    assert normalise_name("  买买提·艾力  ") == "买买提·艾力"
    assert normalise_name("Anna   Maria O'Neil-Smith") == "Anna Maria O'Neil-Smith"


def test_normalise_document_number() -> None:
    assert (
        normalise_document_number(DocumentType.RESIDENT_ID, resident_id().lower(), today=TODAY)
        == resident_id()
    )
    assert normalise_document_number(DocumentType.PASSPORT, " e1234 5678 ", today=TODAY) == "E12345678"
    with pytest.raises(DocumentInvalidError):
        normalise_document_number(DocumentType.PASSPORT, "E-1234", today=TODAY)
