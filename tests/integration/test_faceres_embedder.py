"""FaceresEmbedder with the vendored ONNX model: loading, checksum refusal, vectors, identity."""

from __future__ import annotations

import itertools
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.adapters.models.dlib_models import DlibHogDetector
from portraitmatch.adapters.models.faceres_embedder import MODEL_FILE, FaceresEmbedder
from portraitmatch.adapters.models.weights import verified_path
from portraitmatch.errors import InputError, ModelError, UnusablePortraitError
from portraitmatch.ports import Embedder
from portraitmatch.types import Box

LFW_EA = Path("verification/lfw_east_asian_gray/lfw")
# Three photos each of four people, taken on different occasions.
PEOPLE = ("Jackie_Chan", "Yao_Ming", "Lucy_Liu", "Junichiro_Koizumi")


@pytest.fixture(scope="module")
def embedder() -> FaceresEmbedder:
    return FaceresEmbedder.load()


@pytest.fixture(scope="module")
def detector() -> DlibHogDetector:
    return DlibHogDetector.load(upsample=1)


def _face(dev_data: Path, detector: DlibHogDetector, name: str, n: int) -> tuple[np.ndarray, Box]:
    gray = cv2.imread(str(dev_data / LFW_EA / name / f"{name}_{n:04d}.jpg"), cv2.IMREAD_GRAYSCALE)
    assert gray is not None
    rgb = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    boxes = detector.detect(rgb)
    assert boxes, f"no face found in {name}_{n:04d}"
    centre = np.array(rgb.shape[1::-1]) / 2
    # LFW photos can show several people; the labelled one is in the middle.
    box = min(boxes, key=lambda b: float(np.hypot(b.cx - centre[0], b.cy - centre[1])))
    return rgb, box


def test_implements_the_embedder_port(embedder: FaceresEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.model_id == "faceres-1024"


def test_unit_norm_1024d_deterministic(embedder: FaceresEmbedder, detector, dev_data: Path) -> None:
    pixels, box = _face(dev_data, detector, "Jackie_Chan", 1)
    first = embedder.embed(pixels, box)
    second = embedder.embed(pixels.copy(), box)
    assert first.model_id == "faceres-1024"
    assert first.vector.shape == (1024,) and first.vector.dtype == np.float32
    assert np.linalg.norm(first.vector) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(first.vector, second.vector)


def test_batch_and_threads_give_single_face_vectors(embedder: FaceresEmbedder, detector, dev_data) -> None:
    faces = [_face(dev_data, detector, name, 1) for name in PEOPLE]
    single = np.stack([embedder.embed(p, b).vector for p, b in faces])
    batched = np.stack([e.vector for e in embedder.embed_batch(faces)])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = np.stack([e.vector for e in pool.map(lambda f: embedder.embed(*f), faces * 3)])
    np.testing.assert_allclose(threaded, np.concatenate([single] * 3), atol=1e-5)


def test_same_person_scores_higher_than_different_people(embedder, detector, dev_data: Path) -> None:
    labelled = [(name, embedder.embed(*_face(dev_data, detector, name, n)).vector) for name in PEOPLE
                for n in (1, 2, 3)]  # fmt: skip
    genuine, impostor = [], []
    for (name_a, a), (name_b, b) in itertools.combinations(labelled, 2):
        (genuine if name_a == name_b else impostor).append(float(a @ b))
    assert len(genuine) == 12 and len(impostor) == 54
    # Every genuine pair should outrank most impostor pairs (ROC AUC), and clearly on average.
    auc = np.mean([g > i for g in genuine for i in impostor])
    assert auc >= 0.9, f"AUC {auc:.3f}"
    assert np.mean(genuine) > np.mean(impostor) + 0.1


def test_flip_averaging_stays_close_to_plain(detector, dev_data: Path) -> None:
    pixels, box = _face(dev_data, detector, "Lucy_Liu", 1)
    plain = FaceresEmbedder.load().embed(pixels, box).vector
    flipped = FaceresEmbedder.load(flip=True).embed(pixels, box).vector
    assert np.linalg.norm(flipped) == pytest.approx(1.0, abs=1e-5)
    assert 0.8 < float(plain @ flipped) < 1.0 - 1e-6


def test_loads_an_intact_copy(tmp_path: Path) -> None:
    copy = tmp_path / MODEL_FILE
    shutil.copyfile(verified_path(MODEL_FILE), copy)
    assert FaceresEmbedder.load(copy).model_id == "faceres-1024"


def test_refuses_a_tampered_model_file(tmp_path: Path) -> None:
    copy = tmp_path / MODEL_FILE
    data = bytearray(verified_path(MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit inside the weights
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        FaceresEmbedder.load(copy)


def test_refuses_a_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        FaceresEmbedder.load(tmp_path / MODEL_FILE)


def test_bad_input_is_an_input_error(embedder: FaceresEmbedder) -> None:
    image = np.full((120, 100, 3), 90, np.uint8)
    with pytest.raises(InputError, match="uint8"):
        embedder.embed(image.astype(np.float32), Box(10, 10, 50, 50))
    with pytest.raises(InputError, match="uint8"):
        embedder.embed(image[..., 0], Box(10, 10, 50, 50))
    with pytest.raises(InputError, match="outside"):
        embedder.embed(image, Box(500, 10, 50, 50))
    with pytest.raises(InputError, match="positive"):
        embedder.embed(image, Box(10, 10, 0, 50))
    with pytest.raises(InputError, match="positive"):
        embedder.embed(image, Box(10, float("nan"), 40, 50))


def test_a_black_frame_has_no_identity(embedder: FaceresEmbedder) -> None:
    with pytest.raises(UnusablePortraitError):
        embedder.embed(np.zeros((120, 100, 3), np.uint8), Box(20, 20, 60, 60))
