"""Finding and checking the portrait on the ID side: a chip photo, a card scan or a passport page.

Detectors miss faces that touch the image border (a chip portrait or a tight crop), so the image
is padded before detection. Faces on a photographed card are small, so when the first pass finds
nothing the image is searched again in overlapping tiles upscaled 2x. A card photographed sideways
or a page scanned upside down has no upright face: the detector then finds nothing, or a weak
false face (HOG scores 0.02-0.03 on turned dev photos, against 1.8 upright), which would be matched
and give a confident wrong "no match". So when the best detection is weak the three other quarter
turns are searched too (first pass only, no tiles), and the image is turned to the one with a
confident face. When several faces are
found (a passport's ghost image, a second portrait on the back of a card) the largest is used and
``Portrait.notes`` says so.

The result keeps the working image (padded, possibly rescaled) together with the box in that
image, because embedders crop and align from (pixels, box) themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from portraitmatch.errors import NoFaceError, UnusablePortraitError
from portraitmatch.ports import FaceDetector
from portraitmatch.types import Box, Frame, Quality, Reason

# Sharpness is measured on the face resized to this width so it does not depend on face size.
SHARPNESS_FACE_WIDTH_PX = 64


@dataclass(frozen=True, slots=True)
class PortraitSettings:
    min_face_px: float = 36.0  # sqrt(box area) in source pixels; a 102x126 chip face is ~60
    min_sharpness: float = 25.0  # variance of the Laplacian at SHARPNESS_FACE_WIDTH_PX
    min_brightness: float = 40.0
    max_overexposed_fraction: float = 0.35
    max_outside_fraction: float = 0.35  # share of the box lying outside the source image
    pad_fraction: float = 0.35  # padding on each side, as a share of the longer image side
    max_side_px: int = 1600  # larger images are downscaled before detection
    small_image_side_px: int = 200  # smaller images are upscaled to about this before detection
    tiles: int = 2  # second pass: tiles x tiles overlapping tiles, each upscaled 2x
    # A best detection scoring below this (dlib HOG SVM margin) sends the search to the other
    # three quarter turns; one of them is used only if its face scores at least this much.
    upright_score: float = 0.5


@dataclass(frozen=True, slots=True)
class Portrait:
    """The face chosen on the ID side.

    ``pixels`` is the working image (RGB uint8) and ``box`` the face in it; ``source_box`` is
    the same face in the caller's frame. ``n_faces`` counts every face found; ``notes`` explain
    choices a clerk may want to know about.
    """

    pixels: np.ndarray
    box: Box
    source_box: Box
    quality: Quality
    n_faces: int
    notes: tuple[str, ...] = ()
    quarter_turns: int = 0  # the caller's image was turned this many times by 90° counterclockwise

    def __post_init__(self) -> None:
        pixels = np.ascontiguousarray(self.pixels)
        pixels.flags.writeable = False
        object.__setattr__(self, "pixels", pixels)

    def upright(self, pixels: np.ndarray) -> np.ndarray:
        """The caller's image turned as the portrait was: the frame `source_box` refers to."""
        return np.ascontiguousarray(np.rot90(pixels, self.quarter_turns)) if self.quarter_turns else pixels


def read_portrait(
    frame: Frame,
    detector: FaceDetector,
    settings: PortraitSettings | None = None,
    *,
    require_usable: bool = True,
) -> Portrait:
    """Find the portrait in `frame` and assess it.

    Raises ``NoFaceError`` when no face is found and, with ``require_usable``, an
    ``UnusablePortraitError`` whose ``code`` is the first failing ``Reason`` (all of them are in
    the message) when the face is too small, blurred, too dark, overexposed or cut off. With
    ``require_usable=False`` the portrait is returned and ``quality.reasons`` lists the problems.
    """
    cfg = settings or PortraitSettings()
    source = frame.pixels
    src_h, src_w = source.shape[:2]
    search = _search(source, detector, cfg)
    quarter_turns = 0
    if search.score < cfg.upright_score:
        for k in (1, 2, 3):
            # Without the tiled pass: 4 upscaled tiles in each of 3 turns would cost seconds on a
            # large scan with no face, so a turned image's face must be found in the first pass.
            turned = _search(np.rot90(source, k), detector, cfg, tiles=False)
            if turned.score >= cfg.upright_score and turned.score > search.score:
                search, quarter_turns = turned, k
    source = search.source
    boxes, working, scale, pad = search.boxes, search.working, search.scale, search.pad
    searched_tiles = search.tiled
    if not boxes:
        raise NoFaceError(f"no face found in the ID portrait image ({src_w}x{src_h} px)")

    boxes = _merge_overlapping(boxes)
    box = max(boxes, key=lambda b: b.area)
    notes: list[str] = []
    if quarter_turns:
        notes.append(f"the image was turned {90 * quarter_turns}° counterclockwise to bring the face upright")
    if searched_tiles:
        notes.append("face found only by the tiled 2x search: it is small in the image")
    if len(boxes) > 1:
        notes.append(f"{len(boxes)} faces found (ghost image or second portrait?): using the largest")

    source_box = Box((box.x - pad) / scale, (box.y - pad) / scale, box.w / scale, box.h / scale)
    quality = assess_portrait_quality(source, source_box, cfg)
    portrait = Portrait(working, box, source_box, quality, len(boxes), tuple(notes), quarter_turns)
    if require_usable and not quality.is_usable:
        codes = ", ".join(r.value for r in quality.reasons)
        raise UnusablePortraitError(f"ID portrait unusable: {codes}", code=quality.reasons[0].value)
    return portrait


def assess_portrait_quality(
    pixels: np.ndarray, box: Box, settings: PortraitSettings | None = None
) -> Quality:
    """Measure the face in `box` (source pixels) and list the reasons it cannot be matched."""
    cfg = settings or PortraitSettings()
    h, w = pixels.shape[:2]
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(w, int(np.ceil(box.x + box.w))), min(h, int(np.ceil(box.y + box.h)))
    inside = max(0, x1 - x0) * max(0, y1 - y0)
    outside_fraction = 1.0 - inside / box.area if box.area > 0 else 1.0
    face_px = float(np.sqrt(box.area))

    reasons: list[Reason] = []
    sharpness = brightness = overexposed = 0.0
    if inside > 0:
        crop = pixels[y0:y1, x0:x1]
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        sharpness = face_sharpness(gray)
        brightness = float(gray.mean())
        overexposed = float((gray >= 250).mean())
    if face_px < cfg.min_face_px:
        reasons.append(Reason.FACE_TOO_SMALL)
    if outside_fraction > cfg.max_outside_fraction:
        reasons.append(Reason.FACE_CUT_OFF)
    if sharpness < cfg.min_sharpness:
        reasons.append(Reason.BLURRED)
    if brightness < cfg.min_brightness:
        reasons.append(Reason.TOO_DARK)
    if overexposed > cfg.max_overexposed_fraction:
        reasons.append(Reason.OVEREXPOSED)
    centre_offset = float(np.hypot(box.cx - w / 2, box.cy - h / 2) / np.hypot(w, h))
    return Quality(
        reasons=tuple(reasons),
        face_px=face_px,
        sharpness=sharpness,
        brightness=brightness,
        overexposed_fraction=overexposed,
        centre_offset=centre_offset,
    )


def face_sharpness(gray_face: np.ndarray) -> float:
    """Variance of the Laplacian after resizing the face to a fixed width (size-independent)."""
    fh, fw = gray_face.shape[:2]
    if fw < 2 or fh < 2:
        return 0.0
    size = (SHARPNESS_FACE_WIDTH_PX, max(2, round(fh * SHARPNESS_FACE_WIDTH_PX / fw)))
    interpolation = cv2.INTER_AREA if fw > SHARPNESS_FACE_WIDTH_PX else cv2.INTER_LINEAR
    normalised = cv2.resize(gray_face, size, interpolation=interpolation)
    return float(cv2.Laplacian(normalised, cv2.CV_64F).var())


def _resize(pixels: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(pixels, size, interpolation=interpolation)


@dataclass(frozen=True, slots=True)
class _Search:
    source: np.ndarray  # the caller's image as searched (turned, if it was)
    working: np.ndarray  # the same, rescaled and padded
    boxes: list[Box]  # in `working` pixels
    score: float  # the best detection's score; inf from a detector without scores, -inf for none
    scale: float
    pad: int
    tiled: bool  # found only by the tiled search


def _search(
    source: np.ndarray, detector: FaceDetector, cfg: PortraitSettings, *, tiles: bool = True
) -> _Search:
    """Rescale and pad `source`, detect, and (with `tiles`) fall back to the tiled search when
    nothing is found."""
    scale = 1.0
    longest = max(source.shape[:2])
    if longest > cfg.max_side_px:
        scale = cfg.max_side_px / longest
    elif longest < cfg.small_image_side_px:
        scale = cfg.small_image_side_px / longest
    source = np.ascontiguousarray(source)
    scaled = _resize(source, scale)
    pad = round(cfg.pad_fraction * max(scaled.shape[:2]))
    working = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    found = _detect(working, detector)
    tiled = tiles and not found
    if tiled:
        found = _detect_in_tiles(working, detector, cfg.tiles)
    score = max((s for _, s in found), default=-math.inf)
    return _Search(source, working, [b for b, _ in found], score, scale, pad, tiled and bool(found))


def _detect(image: np.ndarray, detector: FaceDetector) -> list[tuple[Box, float]]:
    """Boxes with their scores; a detector that gives no scores is trusted (score inf)."""
    scored = getattr(detector, "detect_scored", None)
    if scored is None:
        return [(b, math.inf) for b in detector.detect(image)]
    return [(s.box, float(s.score)) for s in scored(image)]


def _detect_in_tiles(image: np.ndarray, detector: FaceDetector, n: int) -> list[tuple[Box, float]]:
    """Search n x n tiles overlapping by a quarter, each upscaled 2x; boxes in `image` pixels."""
    h, w = image.shape[:2]
    tile_w, tile_h = int(np.ceil(w / (n - (n - 1) * 0.25))), int(np.ceil(h / (n - (n - 1) * 0.25)))
    step_w, step_h = int(tile_w * 0.75), int(tile_h * 0.75)
    found: list[tuple[Box, float]] = []
    for ty in range(n):
        for tx in range(n):
            x0, y0 = min(tx * step_w, max(0, w - tile_w)), min(ty * step_h, max(0, h - tile_h))
            tile = _resize(image[y0 : y0 + tile_h, x0 : x0 + tile_w], 2.0)
            for b, score in _detect(tile, detector):
                found.append((Box(x0 + b.x / 2, y0 + b.y / 2, b.w / 2, b.h / 2), score))
    return found


def _merge_overlapping(boxes: list[Box], iou: float = 0.3) -> list[Box]:
    """Drop boxes that overlap a larger one (the same face seen in two tiles)."""
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b.area):
        if all(b.iou(k) < iou for k in kept):
            kept.append(b)
    return kept
