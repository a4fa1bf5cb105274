"""The console's typed-document checks (static/js/documents.js) agree with the registry's Python rules.

Every case runs through both: ``registry.resident_id.parse_resident_id``, ``registry.mrz.parse_td3``
and ``registry.documents.normalise_name`` on one side, the page's module in Chromium on the other.
The cases are valid numbers and zones plus every single-character corruption of some of them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from portraitmatch.adapters.web.routes.pages import mount_pages
from portraitmatch.registry.documents import normalise_name
from portraitmatch.registry.mrz import check_digit, parse_td3
from portraitmatch.registry.refusals import DocumentInvalidError
from portraitmatch.registry.resident_id import check_character, parse_resident_id
from tests.e2e.browser.server import serve

pytestmark = pytest.mark.browser

TODAY = date(2026, 11, 22)
PROVINCES = ["11", "31", "44", "65", "81", "83"]


@pytest.fixture(scope="module")
def documents_page(launch_browser: Any) -> Iterator[Any]:
    app = FastAPI()
    mount_pages(app)
    with serve(app) as served:
        page = launch_browser().new_page()
        page.goto(served.url + "/")
        page.evaluate("async () => { window.docs = await import('/static/js/documents.js'); }")
        yield page
        page.close()


def _resident_ids(rng: random.Random) -> list[str]:
    valid = []
    for _ in range(60):
        birth = date(1901, 1, 1) + timedelta(days=rng.randrange(45_000))
        first17 = f"{rng.choice(PROVINCES)}{rng.randrange(10_000):04d}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        valid.append(first17 + check_character(first17))
    cases = list(valid)
    for number in valid[:12]:
        for i in range(18):
            for replacement in ("0", "7", "X"):
                if number[i] != replacement:
                    cases.append(number[:i] + replacement + number[i + 1 :])
        cases.append(number[:17])  # too short
        cases.append(number + "1")  # too long
        cases.append(number.lower())  # a lower-case x is accepted
        cases.append(f" {number[:6]} {number[6:]} ")  # spaces are dropped
        cases.append(number[:5] + "１" + number[6:])  # a full-width digit
    cases += [
        "99010519491231002X",  # no such province
        "110105" + "20270101" + "123",  # born after today (with its check below)
        "110105" + "18991231" + "123",  # born before 1900
        "110105" + "20230229" + "123",  # no 29 February in 2023
        "",
    ]
    # The dated cases above get a correct check character, so only their date is wrong.
    return [c + check_character(c) if len(c) == 17 and c.startswith("110105") else c for c in cases]


def _python_resident(text: str) -> dict[str, Any]:
    try:
        parsed = parse_resident_id(text, today=TODAY)
    except DocumentInvalidError as exc:
        return {"ok": False, "code": exc.code}
    birth = parsed.birth_date.isoformat()
    return {"ok": True, "number": parsed.number, "birth": birth, "male": parsed.is_male}


def test_resident_id_checks_match_the_registry(documents_page: Any) -> None:
    cases = _resident_ids(random.Random(11643))
    js = documents_page.evaluate(
        """([cases, today]) => cases.map((c) => {
            const r = window.docs.parseResidentId(c, today);
            if (!r.ok) return {ok: false, code: r.code};
            return {ok: true, number: r.number, birth: r.birthDate, male: r.isMale};
        })""",
        [cases, TODAY.isoformat()],
    )
    expected = [_python_resident(c) for c in cases]
    mismatches = [(c, p, j) for c, p, j in zip(cases, expected, js, strict=True) if p != j]
    assert not mismatches, mismatches[:5]
    assert sum(e["ok"] for e in expected) >= 60
    assert {e["code"] for e in expected if not e["ok"]} >= {
        "ID_NUMBER_LENGTH",
        "ID_NUMBER_CHARACTERS",
        "ID_NUMBER_REGION",
        "ID_NUMBER_BIRTH_DATE",
        "ID_NUMBER_CHECKSUM",
    }


def _td3(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    surname = "".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
    given = "".join(rng.choice(letters) for _ in range(rng.randint(2, 8)))
    state = rng.choice(["CHN", "UTO", "D<<", "GBR"])
    line1 = f"P<{state}{surname}<<{given}".ljust(44, "<")[:44]
    number = "".join(rng.choice(letters + "0123456789") for _ in range(rng.randint(6, 9))).ljust(9, "<")
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(30_000))
    expiry = TODAY + timedelta(days=rng.randrange(-400, 3650))
    optional = rng.choice(["<" * 14, "".join(rng.choice("0123456789") for _ in range(10)).ljust(14, "<")])
    opt_check = "<" if set(optional) == {"<"} and rng.random() < 0.5 else check_digit(optional)
    b, e = f"{birth:%y%m%d}", f"{expiry:%y%m%d}"
    body = f"{number}{check_digit(number)}{state}{b}{check_digit(b)}{rng.choice('MFX<')}{e}{check_digit(e)}"
    body += optional + opt_check
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1 + "\n" + body + check_digit(composite)


def _python_mrz(text: str) -> dict[str, Any]:
    try:
        z = parse_td3(text, today=TODAY)
    except DocumentInvalidError as exc:
        return {"ok": False, "code": exc.code}
    return {
        "ok": True,
        "state": z.issuing_state,
        "name": z.name,
        "number": z.number,
        "nationality": z.nationality,
        "birth": z.birth_date.isoformat(),
        "sex": z.sex,
        "expires": z.expires_on.isoformat(),
    }


def test_passport_mrz_checks_match_the_registry(documents_page: Any) -> None:
    rng = random.Random(9303)
    valid = [_td3(rng) for _ in range(40)]
    cases = list(valid)
    for zone in valid[:6]:
        compact = zone.replace("\n", "")
        for i in range(0, 88, 3):
            replacement = "7" if compact[i] != "7" else "A"
            cases.append(compact[:i] + replacement + compact[i + 1 :])
    cases += [valid[0].lower(), valid[1].replace("\n", "  "), valid[2][:-1], "V" + valid[3][1:], ""]
    js = documents_page.evaluate(
        """([cases, today]) => cases.map((c) => {
            const z = window.docs.parseTd3(c, today);
            if (!z.ok) return {ok: false, code: z.code};
            return {ok: true, state: z.issuingState, name: z.name, number: z.number,
                    nationality: z.nationality, birth: z.birthDate, sex: z.sex, expires: z.expiresOn};
        })""",
        [cases, TODAY.isoformat()],
    )
    expected = [_python_mrz(c) for c in cases]
    mismatches = [(c, p, j) for c, p, j in zip(cases, expected, js, strict=True) if p != j]
    assert not mismatches, mismatches[:5]
    assert all(e["ok"] for e in expected[:40])
    assert {e["code"] for e in expected if not e["ok"]} >= {"MRZ_FORMAT", "MRZ_CHECK_DIGIT"}


NAMES = [
    "张三",
    "  Zhang   San ",
    "O'Brien",
    "Anne-Marie",
    "买买提·艾力",
    "José",
    "Jose\u0301",
    "John3",
    "Name!",
    "",
    "   ",
    "A" * 64,
    "A" * 65,
    "李\u3000四",
]


def _python_name(text: str) -> str | None:
    try:
        return normalise_name(text)
    except DocumentInvalidError:
        return None


def test_holder_name_checks_match_the_registry(documents_page: Any) -> None:
    js = documents_page.evaluate("(names) => names.map((n) => window.docs.normaliseName(n))", NAMES)
    assert js == [_python_name(n) for n in NAMES]
