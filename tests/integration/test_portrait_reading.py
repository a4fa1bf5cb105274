"""Reading the ID-side portrait with the real dlib detector: chips, card composites, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.adapters.models.dlib_models import DlibHogDetector
from portraitmatch.analysis.portrait import read_portrait
from portraitmatch.bench.verify import degrade_to_chip
from portraitmatch.capture.image import load_image
from portraitmatch.errors import NoFaceError, UnusablePortraitError
from portraitmatch.types import Box, Frame, Reason

LFW_EA = Path("verification/lfw_east_asian_gray/lfw")
LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000}


@pytest.fixture(scope="module")
def detector() -> DlibHogDetector:
    return DlibHogDetector.load(upsample=1)


def _photo(dev_data: Path, name: str, n: int) -> np.ndarray:
    return load_image(dev_data / LFW_EA / name / f"{name}_{n:04d}.jpg", **LIMITS).pixels


def _card(portrait: np.ndarray | None, ghost: bool) -> tuple[np.ndarray, Box]:
    """An ID-1 card (85.6 x 54 mm at 10 px/mm): tinted background, guilloche-like lines, text,
    the portrait on the left and, optionally, a faded smaller ghost copy on the right."""
    card = np.full((540, 856, 3), (222, 232, 240), np.uint8)
    for k in range(0, 856, 12):
        cv2.line(card, (k, 0), (k + 200, 540), (205, 218, 230), 1)
    cv2.rectangle(card, (0, 0), (855, 539), (120, 130, 150), 3)
    cv2.putText(card, "RESIDENT IDENTITY CARD", (270, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (40, 40, 90), 2)
    for i, line in enumerate(("NAME  LEE MIN-JUN", "SEX  M   BORN  1984.03.17", "ADDRESS  12-3 SEJONG-RO")):
        cv2.putText(card, line, (300, 150 + 55 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (30, 30, 30), 2)
    cv2.putText(card, "110101198403170000", (300, 460), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (30, 30, 30), 2)
    region = Box(40, 130, 220, 280)
    if portrait is not None:
        face = cv2.resize(
            portrait[30:220, 50:200], (int(region.w), int(region.h)), interpolation=cv2.INTER_AREA
        )
        card[int(region.y) : int(region.y + region.h), int(region.x) : int(region.x + region.w)] = face
        if ghost:
            small = cv2.resize(face, (110, 140), interpolation=cv2.INTER_AREA).astype(np.float32)
            patch = card[360:500, 700:810].astype(np.float32)
            card[360:500, 700:810] = (0.45 * small + 0.55 * patch).astype(np.uint8)
    return card, region


def _inside(box: Box, region: Box) -> bool:
    return region.x <= box.cx <= region.x + region.w and region.y <= box.cy <= region.y + region.h


def test_whole_photo_gives_a_usable_portrait(dev_data: Path, detector: DlibHogDetector) -> None:
    p = read_portrait(Frame(_photo(dev_data, "Ai_Sugiyama", 1)), detector)
    assert p.quality.is_usable
    assert 80 < p.quality.face_px < 160
    assert p.n_faces == 1 and p.notes == ()


def test_small_chip_portrait_102x126_works(dev_data: Path, detector: DlibHogDetector) -> None:
    photo = _photo(dev_data, "Ai_Sugiyama", 1)
    located = read_portrait(Frame(photo), detector)
    chip = degrade_to_chip(photo, located.source_box)
    assert chip.shape == (126, 102, 3)
    p = read_portrait(Frame(chip), detector)
    assert p.quality.is_usable
    assert 40 < p.quality.face_px < 90
    assert _inside(p.source_box, Box(0, 0, 102, 126))


def test_card_scan_portrait_is_found_and_ghost_ignored(dev_data: Path, detector: DlibHogDetector) -> None:
    card, region = _card(_photo(dev_data, "Ai_Sugiyama", 1), ghost=True)
    p = read_portrait(Frame(card), detector)
    assert _inside(p.source_box, region)
    if p.n_faces > 1:
        assert any("largest" in n for n in p.notes)


def test_phone_photo_of_a_card_finds_the_small_face(dev_data: Path, detector: DlibHogDetector) -> None:
    card, region = _card(_photo(dev_data, "Ai_Sugiyama", 1), ghost=False)
    rng = np.random.default_rng(0)
    desk = rng.integers(60, 90, (1200, 1600, 3), dtype=np.uint8)
    scale = 300 / 856  # the card fills a fifth of the frame width: face ~ 55 px
    small = cv2.resize(card, (300, round(540 * scale)), interpolation=cv2.INTER_AREA)
    x0, y0 = 700, 500
    desk[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    p = read_portrait(Frame(desk), detector)
    on_desk = Box(x0 + region.x * scale, y0 + region.y * scale, region.w * scale, region.h * scale)
    assert _inside(p.source_box, on_desk)
    assert 36 <= p.quality.face_px < 70


def test_card_without_portrait_raises_no_face(detector: DlibHogDetector) -> None:
    card, _ = _card(None, ghost=False)
    with pytest.raises(NoFaceError):
        read_portrait(Frame(card), detector)


def test_blurred_portrait_is_refused_with_its_reason(dev_data: Path, detector: DlibHogDetector) -> None:
    blurred = cv2.GaussianBlur(_photo(dev_data, "Ai_Sugiyama", 1), (0, 0), 4)
    with pytest.raises(UnusablePortraitError) as err:
        read_portrait(Frame(blurred), detector)
    assert err.value.code == Reason.BLURRED
    p = read_portrait(Frame(blurred), detector, require_usable=False)
    assert Reason.BLURRED in p.quality.reasons


def test_tiny_portrait_is_too_small(dev_data: Path, detector: DlibHogDetector) -> None:
    photo = _photo(dev_data, "Ai_Sugiyama", 1)
    chip = degrade_to_chip(photo, read_portrait(Frame(photo), detector).source_box)
    tiny = cv2.resize(chip, (51, 63), interpolation=cv2.INTER_AREA)
    with pytest.raises((UnusablePortraitError, NoFaceError)) as err:
        read_portrait(Frame(tiny), detector)
    assert err.value.code in (Reason.FACE_TOO_SMALL, "NO_FACE")


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_card_photographed_sideways_or_upside_down_is_turned_upright(
    dev_data: Path, detector: DlibHogDetector, quarter_turns: int
) -> None:
    """Turned, the card has no upright face; the detector used to settle for a weak false one
    (a patch of the card), which then gave a confident wrong "no match"."""
    card, region = _card(_photo(dev_data, "Ai_Sugiyama", 1), ghost=False)
    upright = read_portrait(Frame(card), detector)
    assert upright.quarter_turns == 0 and _inside(upright.source_box, region)
    turned = np.ascontiguousarray(np.rot90(card, -quarter_turns))  # clockwise: how it was shot
    p = read_portrait(Frame(turned), detector)
    assert p.quarter_turns == quarter_turns
    assert any("turned" in n for n in p.notes)
    assert _inside(p.source_box, region)  # in the image turned back upright
    assert np.array_equal(p.upright(turned), card)
    assert abs(p.source_box.w - upright.source_box.w) < 0.1 * upright.source_box.w


def test_an_upright_chip_is_not_turned(dev_data: Path, detector: DlibHogDetector) -> None:
    photo = _photo(dev_data, "Ai_Sugiyama", 2)
    chip = degrade_to_chip(photo, read_portrait(Frame(photo), detector).source_box)
    p = read_portrait(Frame(chip), detector)
    assert p.quarter_turns == 0 and not any("turned" in n for n in p.notes)
