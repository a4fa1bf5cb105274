"""The shipped calibration with the real models on known dev pairs: same people match, different
people do not, also when the ID side is a degraded chip portrait; and the embedders are thread-safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from portraitmatch.adapters.models.dlib_models import DlibEmbedder, DlibHogDetector
from portraitmatch.adapters.models.faceres_embedder import FaceresEmbedder
from portraitmatch.analysis.portrait import read_portrait
from portraitmatch.bench.verify import degrade_to_chip
from portraitmatch.capture.image import load_image
from portraitmatch.errors import NoFaceError
from portraitmatch.matching.calibration import load_calibration
from portraitmatch.matching.matcher import Matcher, PortraitTemplate
from portraitmatch.types import Frame

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000}
JOHNS = "verification/dlib_johns/images"
LFW_EA = "verification/lfw_east_asian_gray/lfw"

# Known pairs (paths under the dev data root). Genuine pairs: accepted by the shipped calibration
# with a margin of 5+ over the threshold; impostor pairs: the closest ones among these people.
GENUINE = [
    (f"{JOHNS}/John_Salley/000179_02159509.jpg", f"{JOHNS}/John_Salley/000183_02159543.jpg"),
    (f"{JOHNS}/John_Savage/000264_01099001.jpg", f"{JOHNS}/John_Savage/000274_01099061.jpg"),
    (f"{LFW_EA}/Jackie_Chan/Jackie_Chan_0003.jpg", f"{LFW_EA}/Jackie_Chan/Jackie_Chan_0004.jpg"),
    (f"{LFW_EA}/Ai_Sugiyama/Ai_Sugiyama_0002.jpg", f"{LFW_EA}/Ai_Sugiyama/Ai_Sugiyama_0003.jpg"),
    (f"{LFW_EA}/Yao_Ming/Yao_Ming_0002.jpg", f"{LFW_EA}/Yao_Ming/Yao_Ming_0004.jpg"),
]
IMPOSTOR = [
    (f"{JOHNS}/John_Salley/000179_02159509.jpg", f"{JOHNS}/John_Savage/000264_01099001.jpg"),
    (f"{LFW_EA}/Junichiro_Koizumi/Junichiro_Koizumi_0004.jpg", f"{LFW_EA}/Jackie_Chan/Jackie_Chan_0001.jpg"),
    (f"{LFW_EA}/Kim_Dae-jung/Kim_Dae-jung_0003.jpg", f"{LFW_EA}/Jackie_Chan/Jackie_Chan_0004.jpg"),
    (f"{LFW_EA}/Ai_Sugiyama/Ai_Sugiyama_0001.jpg", f"{LFW_EA}/Yoriko_Kawaguchi/Yoriko_Kawaguchi_0001.jpg"),
]


@pytest.fixture(scope="module")
def detector() -> DlibHogDetector:
    return DlibHogDetector.load(upsample=1)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_calibration(), [DlibEmbedder.load(), FaceresEmbedder.load()])


def _template(dev_data: Path, rel: str, detector: DlibHogDetector, matcher: Matcher) -> PortraitTemplate:
    frame = load_image(dev_data / rel, **LIMITS)
    return matcher.enrol(read_portrait(frame, detector))


@pytest.mark.parametrize(("a", "b"), GENUINE, ids=lambda p: Path(p).stem)
def test_same_person_matches(
    dev_data: Path, detector: DlibHogDetector, matcher: Matcher, a: str, b: str
) -> None:
    result = matcher.compare(
        _template(dev_data, a, detector, matcher), _template(dev_data, b, detector, matcher)
    )
    assert result.is_match, result
    assert set(result.scores_by_model) == {"dlib-resnet-128", "faceres-1024"}


@pytest.mark.parametrize(("a", "b"), IMPOSTOR, ids=lambda p: Path(p).stem)
def test_different_people_do_not_match(
    dev_data: Path, detector: DlibHogDetector, matcher: Matcher, a: str, b: str
) -> None:
    result = matcher.compare(
        _template(dev_data, a, detector, matcher), _template(dev_data, b, detector, matcher)
    )
    assert not result.is_match, result


def test_chip_portrait_scores_its_owner_above_others(
    dev_data: Path, detector: DlibHogDetector, matcher: Matcher
) -> None:
    owner = GENUINE[2][0]
    photo = load_image(dev_data / owner, **LIMITS).pixels
    chip = degrade_to_chip(photo, read_portrait(Frame(photo), detector).source_box)
    id_side = matcher.enrol(read_portrait(Frame(chip), detector))
    same = matcher.compare(id_side, _template(dev_data, GENUINE[2][1], detector, matcher))
    others = [
        matcher.compare(id_side, _template(dev_data, rel, detector, matcher)).score
        for rel in (IMPOSTOR[1][0], IMPOSTOR[2][0], IMPOSTOR[3][1])
    ]
    assert same.score > max(others)
    assert not any(s >= matcher.calibration.threshold for s in others)


def test_blank_image_has_no_face(detector: DlibHogDetector) -> None:
    with pytest.raises(NoFaceError):
        read_portrait(Frame(np.full((300, 240, 3), 128, np.uint8)), detector)


def test_embedders_give_the_same_vectors_from_several_threads(
    dev_data: Path, detector: DlibHogDetector, matcher: Matcher
) -> None:
    rels = [a for a, _ in GENUINE]
    portraits = [read_portrait(load_image(dev_data / r, **LIMITS), detector) for r in rels]
    sequential = [matcher.enrol(p) for p in portraits]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(matcher.enrol, portraits * 2))
    for i, t in enumerate(parallel):
        for model, v in t.vectors.items():
            np.testing.assert_allclose(v, sequential[i % len(rels)].vectors[model], rtol=1e-5, atol=1e-6)
