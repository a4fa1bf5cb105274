"""Detectors for biometric or personal material in clear, over raw bytes.

Used by ``portraitmatch privacy-check`` on every database value, the database files themselves and
every file in the data directory. Each detector is tuned so that ciphertext (uniformly random bytes)
practically never triggers it; the tests feed it random bytes to hold it to that.

- image and video containers by their signatures (JPEG, PNG, GIF, WebP, BMP, TIFF, JPEG 2000,
  ISO-BMFF/HEIC/MP4, Matroska/WebM, Y4M, NumPy ``.npy``), also base64-encoded images;
- embeddings: runs of at least 128 plausible float32 or float64 values, or long text lists of decimals;
- known strings (names and ID numbers the operator holds sealed) appearing in clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

MIN_VECTOR_LEN = 128


class FindingKind(StrEnum):
    IMAGE = "image"
    EMBEDDING = "embedding"
    PERSONAL_TEXT = "personal_text"


@dataclass(frozen=True, slots=True)
class Hit:
    kind: FindingKind
    offset: int
    what: str  # e.g. "jpeg", "float32[128]", "name" — never the matched text itself


_SIGNATURES: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("png", re.compile(rb"\x89PNG\r\n\x1a\n")),
    ("gif", re.compile(rb"GIF8[79]a")),
    ("webp", re.compile(rb"RIFF.{4}WEBP", re.DOTALL)),
    ("jpeg2000", re.compile(rb"\x00\x00\x00\x0cjP  \r\n\x87\n")),
    (
        "iso_bmff",
        re.compile(rb"ftyp(?:heic|heix|mif1|msf1|avif|isom|iso2|mp41|mp42|qt  |avc1|M4V |3gp4|3gp5)"),
    ),
    ("matroska", re.compile(rb"\x1a\x45\xdf\xa3")),
    ("y4m", re.compile(rb"YUV4MPEG2 ")),
    ("npy", re.compile(rb"\x93NUMPY[\x01-\x03]\x00")),
    ("base64_jpeg", re.compile(rb"/9j/4[AQ]")),
    ("base64_png", re.compile(rb"iVBORw0KGgo")),
    ("data_url", re.compile(rb"data:image/[a-z]+;base64,")),
)
_JPEG_SOI = re.compile(rb"\xff\xd8\xff([\xc0-\xfe])")
_BMP = re.compile(rb"BM.{4}\x00\x00\x00\x00.{4}(?:\x28|\x6c|\x7c)\x00\x00\x00", re.DOTALL)
_TIFF = re.compile(rb"II\x2a\x00\x08\x00\x00\x00|MM\x00\x2a\x00\x00\x00\x08")
_NUMBER = rb"-?\d{1,3}\.\d{3,}(?:[eE][-+]?\d{1,3})?"
_DECIMAL_LIST = re.compile(rb"(?:%s[\s,;]+){%d,}%s" % (_NUMBER, MIN_VECTOR_LEN - 1, _NUMBER))


def find_images(data: bytes) -> list[Hit]:
    hits = [Hit(FindingKind.IMAGE, m.start(), name) for name, rx in _SIGNATURES for m in rx.finditer(data)]
    hits += [Hit(FindingKind.IMAGE, m.start(), "bmp") for m in _BMP.finditer(data)]
    hits += [Hit(FindingKind.IMAGE, m.start(), "tiff") for m in _TIFF.finditer(data)]
    for m in _JPEG_SOI.finditer(data):
        if _is_jpeg_segment(data, m.start()):
            hits.append(Hit(FindingKind.IMAGE, m.start(), "jpeg"))
    return sorted(hits, key=lambda h: h.offset)


def _is_jpeg_segment(data: bytes, at: int) -> bool:
    # SOI, then a marker segment whose length lands on the next marker: 3 random bytes alone
    # would match ciphertext about once per 16 MB.
    marker = data[at + 3]
    if marker in (0xFF, 0xD8, 0xD9) or at + 6 > len(data):
        return False
    length = int.from_bytes(data[at + 4 : at + 6], "big")
    nxt = at + 4 + length
    return length >= 2 and nxt < len(data) and data[nxt] == 0xFF


def find_vectors(data: bytes, min_len: int = MIN_VECTOR_LEN) -> list[Hit]:
    """Runs of ``min_len`` or more values that look like an embedding (float32 or float64)."""
    hits: list[Hit] = []
    for dtype, width in (("<f4", 4), ("<f8", 8), (">f4", 4), (">f8", 8)):
        for align in range(width):
            usable = (len(data) - align) // width
            if usable < min_len:
                continue
            values = np.frombuffer(data, dtype=dtype, count=usable, offset=align)
            for start, end in _plausible_runs(values, min_len):
                hits.append(
                    Hit(FindingKind.EMBEDDING, align + start * width, f"float{width * 8}[{end - start}]")
                )
    for m in _DECIMAL_LIST.finditer(data):
        hits.append(Hit(FindingKind.EMBEDDING, m.start(), "decimal_list"))
    return _dedupe(hits)


def _plausible_runs(values: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    with np.errstate(invalid="ignore", over="ignore"):
        magnitude = np.abs(values.astype(np.float64))
    nonzero = (magnitude >= 1e-6) & (magnitude < 64.0)
    plausible = nonzero | (values == 0)
    runs: list[tuple[int, int]] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], plausible.view(np.int8), [0]))))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        # Embeddings are largely non-zero (ReLU features: about half); zero-filled pages are not.
        if end - start >= min_len and nonzero[start:end].sum() >= (end - start) * 0.25:
            runs.append((int(start), int(end)))
    return runs


def find_text(data: bytes, needles: Iterable[tuple[str, str]]) -> list[Hit]:
    """Occurrences of known strings (case-insensitive, UTF-8 or UTF-16); ``needles`` are
    (what, text) pairs such as ("name", "…"). Thousands of needles cost about as much as one: each
    4-byte window of the data is looked up among the needles' first four bytes, and only those
    positions are compared in full."""
    by_prefix: dict[int, list[tuple[str, bytes]]] = {}
    for what, text in needles:
        for variant in {text.encode("utf-8").lower(), text.encode("utf-16-le").lower()}:
            if len(variant) >= 4:  # shorter says nothing
                by_prefix.setdefault(int.from_bytes(variant[:4], "little"), []).append((what, variant))
    if not by_prefix or len(data) < 4:
        return []
    lowered = data.lower()
    raw = np.frombuffer(lowered, dtype=np.uint8)
    prefixes = np.fromiter(by_prefix, dtype=np.uint32, count=len(by_prefix))
    hits: list[Hit] = []
    block = 1 << 22
    for start in range(0, len(raw) - 3, block):
        part = raw[start : start + block + 3].astype(np.uint32)
        windows = part[:-3] | part[1:-2] << 8 | part[2:-1] << 16 | part[3:] << 24
        for pos in np.flatnonzero(np.isin(windows, prefixes)):
            at = start + int(pos)
            for what, variant in by_prefix[int(windows[pos])]:
                if lowered.startswith(variant, at):
                    hits.append(Hit(FindingKind.PERSONAL_TEXT, at, what))
    return _dedupe(hits)


def scan(data: bytes, needles: Iterable[tuple[str, str]] = ()) -> list[Hit]:
    """Every detector over one blob."""
    return sorted(find_images(data) + find_vectors(data) + find_text(data, needles), key=lambda h: h.offset)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple[FindingKind, int, str]] = set()
    out = []
    for h in sorted(hits, key=lambda h: (h.offset, h.what)):
        key = (h.kind, h.offset, h.what)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out
