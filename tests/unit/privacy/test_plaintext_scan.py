"""The plaintext detectors: they find real images, embeddings and known strings, and stay quiet on
ciphertext, hashes and ordinary database content."""

from __future__ import annotations

import io
import json
import os
import struct

import numpy as np
import pytest
from PIL import Image

from portraitmatch.privacy import DataKey, KeyRef, Purpose, seal
from portraitmatch.privacy.plaintext_scan import FindingKind, find_images, find_text, find_vectors, scan


def _encode(fmt: str) -> bytes:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("BMP", "bmp"), ("WEBP", "webp"), ("GIF", "gif"), ("TIFF", "tiff")],
)
def test_images_are_found_inside_other_bytes(fmt: str, kind: str) -> None:
    blob = os.urandom(1000) + _encode(fmt) + os.urandom(1000)
    hits = find_images(blob)
    assert kind in {h.what for h in hits}
    assert any(h.offset == 1000 for h in hits)


def test_base64_image_and_numpy_dump_are_found() -> None:
    import base64

    text = b'{"portrait": "data:image/jpeg;base64,' + base64.b64encode(_encode("JPEG")) + b'"}'
    assert {"data_url", "base64_jpeg"} <= {h.what for h in find_images(text)}
    buf = io.BytesIO()
    np.save(buf, np.zeros((4, 4, 3), np.uint8))
    assert "npy" in {h.what for h in find_images(buf.getvalue())}


def test_embeddings_are_found_binary_and_text() -> None:
    rng = np.random.default_rng(7)
    vec = rng.normal(0, 0.1, 128).astype(np.float32)
    vec /= np.linalg.norm(vec)
    for blob in (vec.tobytes(), vec.astype(">f4").tobytes(), vec.astype(np.float64).tobytes()):
        hits = find_vectors(b"hdr" + blob + b"tail")
        assert hits and hits[0].kind is FindingKind.EMBEDDING
    relu = np.maximum(rng.normal(0, 1, 1024), 0).astype(np.float32)  # half zeros, like a pooled feature
    assert find_vectors(relu.tobytes())
    as_json = json.dumps([round(float(v), 6) for v in vec]).encode()
    assert "decimal_list" in {h.what for h in find_vectors(as_json)}


def test_short_or_zero_vectors_are_not_embeddings() -> None:
    assert find_vectors(np.ones(100, np.float32).tobytes()) == []
    assert find_vectors(bytes(8192)) == []  # a zero-filled database page
    assert find_vectors(struct.pack("<512i", *range(512))) == []  # row ids


def test_known_strings_found_in_utf8_and_utf16_without_echoing_them() -> None:
    name, number = "张三丰", "11010519491231002X"
    blob = b"x" + name.encode() + b"y" + number.lower().encode("utf-16-le")
    hits = find_text(blob, [("name", name), ("id_number", number)])
    assert {h.what for h in hits} == {"name", "id_number"}
    assert all(name not in h.what and number not in h.what for h in hits)
    assert find_text(b"abc", [("name", "ab")]) == []  # too short to mean anything


def test_ciphertext_and_hashes_trigger_nothing() -> None:
    key = DataKey.generate(KeyRef("doc-1", Purpose.BIOMETRIC))
    sealed = b"".join(seal(key, _encode("JPEG"), label="frame", now=_now()).token for _ in range(20))
    assert scan(sealed, [("name", "张三丰")]) == []
    assert scan(os.urandom(2_000_000)) == []
    hexes = "".join(os.urandom(32).hex() for _ in range(2000)).encode()
    assert scan(hexes) == []


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)
