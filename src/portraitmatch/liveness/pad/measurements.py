"""Small per-frame image measurements that the presentation-attack signals need from the pixels.

`measure_frame` runs once per analysed frame next to the landmarker and must stay cheap (the whole
per-frame budget at 640x480 is ~12 ms, MediaPipe takes ~9 of them). It therefore never resamples
the full frame: most measurements gather a few thousand pixels by index (nearest neighbour) or
read a small full-resolution window; only the fine face crop is area-averaged (OpenCV, ~0.8 ms).

What is kept per frame (≈120 KB, all read-only):

* ``thumb``: a 32x24 grey thumbnail of the whole frame, and ``digest``, a hash of a sparse pixel
  sample: scene cuts, frozen and duplicated frames (stream continuity);
* ``fine_grey``: a 320x320 uint8 grey crop ``FINE_SPAN`` face sizes wide, area-averaged so fine
  texture does not alias: the points the flat-surface test follows (`tracking.PatchTracker`) and
  the pixels the eye-cover test compares around the eyes;
* ``texture``: a 64x64 full-resolution grey window on the face: recapture cues (moiré, missing
  fine detail), no resampling so no aliasing of our own;
* ``skin_rgb``: mean RGB of forehead and cheek skin: the pulse signal;
* ``edges``: for each side of the face (left, right, top, bottom), the strongest straight edge
  between the face and the frame border (support 0..1 and position in face widths): screen bezels
  and paper borders.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import cv2
import numpy as np

from portraitmatch.types import FaceObservation

FINE_PX = 320  # side of the anti-aliased grey crop the flat-surface and eye-cover tests read
FINE_SPAN = 2.4  # face-box sizes it covers: the tracked grid (1.5) stays inside while the head moves
TEXTURE_PX = 64
THUMB_W, THUMB_H = 32, 24
EDGE_W = 128  # width of the grey frame the edge search runs on
_SHEARS = np.array([-0.12, -0.06, 0.0, 0.06, 0.12])  # line slopes tried (pixels across per pixel along)

# Forehead and cheek landmarks whose neighbourhoods are bare skin on nearly every face.
SKIN_LANDMARKS = (151, 9, 108, 337, 50, 280, 205, 425)


@dataclass(frozen=True, slots=True)
class EdgeEvidence:
    """Strongest straight edge on one side of the face: share of its length that is an edge (0..1)
    and its distance from the face centre in face-box sizes (0 when there is none)."""

    support: float
    offset: float


@dataclass(frozen=True, slots=True)
class FrameMeasurements:
    thumb: np.ndarray  # (THUMB_H, THUMB_W) float32 grey
    digest: bytes
    texture: np.ndarray  # (TEXTURE_PX, TEXTURE_PX) float32 grey, full resolution; may be empty
    skin_rgb: tuple[float, float, float]
    edges: tuple[EdgeEvidence, EdgeEvidence, EdgeEvidence, EdgeEvidence]  # left, right, top, bottom
    # (FINE_PX, FINE_PX) uint8 grey, area-averaged (no aliasing), or empty; centred on the face box,
    # FINE_SPAN face sizes wide. Its pixel column i covers image columns
    # [origin + i * scale, origin + (i + 1) * scale), and likewise for rows.
    fine_grey: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    fine_origin: tuple[int, int] = (0, 0)
    fine_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("thumb", "texture"):
            a = np.ascontiguousarray(getattr(self, name), dtype=np.float32)
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        fine = np.ascontiguousarray(self.fine_grey, dtype=np.uint8)
        fine.flags.writeable = False
        object.__setattr__(self, "fine_grey", fine)

    def to_fine(self, points_px: np.ndarray) -> np.ndarray:
        """Image pixel positions (pixel centres at integers) → pixel positions in `fine_grey`."""
        p = np.asarray(points_px, dtype=np.float64)[..., :2]
        return (p + 0.5 - np.asarray(self.fine_origin, dtype=np.float64)) / self.fine_scale - 0.5

    def from_fine(self, points: np.ndarray) -> np.ndarray:
        """Inverse of `to_fine`."""
        p = np.asarray(points, dtype=np.float64)[..., :2]
        return (p + 0.5) * self.fine_scale + np.asarray(self.fine_origin, dtype=np.float64) - 0.5


def measure_frame(pixels: np.ndarray, face: FaceObservation | None) -> FrameMeasurements:
    """Measure one RGB frame (HxWx3 uint8) around its primary face (None: frame-level parts only).

    About 1 ms at 640x480 on one core (see docs/pad.md). Raises ValueError for a non-RGB array.
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be HxWx3, got {pixels.shape}")
    h, w = pixels.shape[:2]
    thumb = _grey(_sample(pixels, 0.0, 0.0, w / THUMB_W, h / THUMB_H, THUMB_W, THUMB_H))
    digest = hashlib.blake2b(np.ascontiguousarray(pixels[::7, ::7]).tobytes(), digest_size=16).digest()
    if face is None:
        empty = np.zeros((0, 0), np.float32)
        none = EdgeEvidence(0.0, 0.0)
        return FrameMeasurements(
            thumb,
            digest,
            empty,
            (0.0, 0.0, 0.0),
            (none, none, none, none),
        )
    box = face.box
    size = max(box.w, box.h)
    fine, fine_origin, fine_scale = _fine_crop(pixels, box.cx, box.cy, size * FINE_SPAN)
    return FrameMeasurements(
        thumb=thumb,
        digest=digest,
        texture=_texture_window(pixels, face),
        skin_rgb=_skin_rgb(pixels, face),
        edges=_edges(pixels, face),
        fine_grey=fine,
        fine_origin=fine_origin,
        fine_scale=fine_scale,
    )


def _fine_crop(
    pixels: np.ndarray, cx: float, cy: float, span: float
) -> tuple[np.ndarray, tuple[int, int], float]:
    """The square ``span`` pixels wide around (cx, cy), grey, area-averaged to FINE_PX (edges
    replicated where it leaves the frame). Nearest-neighbour sampling (as `_sample` does) aliases
    fine texture differently in every frame once the face moves, which the tracker reads as motion."""
    h, w = pixels.shape[:2]
    n = max(2, int(np.ceil(span)))
    x0, y0 = int(np.floor(cx - n / 2)), int(np.floor(cy - n / 2))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + n), min(h, y0 + n)
    if cx1 - cx0 < 2 or cy1 - cy0 < 2:
        return np.zeros((0, 0), np.uint8), (x0, y0), n / FINE_PX
    region = cv2.cvtColor(np.ascontiguousarray(pixels[cy0:cy1, cx0:cx1]), cv2.COLOR_RGB2GRAY)
    region = cv2.copyMakeBorder(region, cy0 - y0, y0 + n - cy1, cx0 - x0, x0 + n - cx1, cv2.BORDER_REPLICATE)
    return cv2.resize(region, (FINE_PX, FINE_PX), interpolation=cv2.INTER_AREA), (x0, y0), n / FINE_PX


def _sample(pixels: np.ndarray, x0: float, y0: float, sx: float, sy: float, nx: int, ny: int) -> np.ndarray:
    h, w = pixels.shape[:2]
    xs = np.clip((x0 + (np.arange(nx) + 0.5) * sx).astype(np.intp), 0, w - 1)
    ys = np.clip((y0 + (np.arange(ny) + 0.5) * sy).astype(np.intp), 0, h - 1)
    # Two 1-D takes: the same pixels as ``pixels[ys[:, None], xs[None, :]]``, 4x faster.
    return pixels.take(ys, axis=0).take(xs, axis=1)


def _grey(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _texture_window(pixels: np.ndarray, face: FaceObservation) -> np.ndarray:
    """A full-resolution window between the eyes and the mouth (nose and cheeks), where print dots,
    screen pixels and moiré show; smaller faces give a smaller window, none under 24 px."""
    lm = face.landmarks
    h, w = pixels.shape[:2]
    if lm.shape[0] < 478:
        cx, cy = face.box.cx, face.box.cy
    else:
        cx, cy = float(lm[4, 0]), float(lm[4, 1])
    half = int(min(TEXTURE_PX, 0.45 * max(face.box.w, face.box.h)) // 2)
    if half < 12:
        return np.zeros((0, 0), np.float32)
    x0 = int(np.clip(round(cx) - half, 0, max(0, w - 2 * half)))
    y0 = int(np.clip(round(cy) - half, 0, max(0, h - 2 * half)))
    window = pixels[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
    if window.shape[0] != 2 * half or window.shape[1] != 2 * half:
        return np.zeros((0, 0), np.float32)
    return _grey(window)


def _skin_rgb(pixels: np.ndarray, face: FaceObservation) -> tuple[float, float, float]:
    lm = face.landmarks
    h, w = pixels.shape[:2]
    if lm.shape[0] < 478:
        return (0.0, 0.0, 0.0)
    r = max(2, int(0.04 * max(face.box.w, face.box.h)))
    offs = np.arange(-r, r + 1, max(1, r // 3))
    total = np.zeros(3)
    n = 0
    for k in SKIN_LANDMARKS:
        xs = np.clip(int(lm[k, 0]) + offs, 0, w - 1)
        ys = np.clip(int(lm[k, 1]) + offs, 0, h - 1)
        patch = pixels[ys[:, None], xs[None, :]].reshape(-1, 3)
        total += patch.mean(axis=0)
        n += 1
    mean = total / n
    return (float(mean[0]), float(mean[1]), float(mean[2]))


def _edges(
    pixels: np.ndarray, face: FaceObservation
) -> tuple[EdgeEvidence, EdgeEvidence, EdgeEvidence, EdgeEvidence]:
    """Straight edges beside, above and below the face on a grey frame EDGE_W pixels wide.

    For a side, every line roughly parallel to that side of the frame (slopes in `_EDGE_SHEARS`)
    between the face box and the frame border is scored by its *support*: the share of the face's
    extent (plus half a face on each end) along which the gradient across the line is more than
    three times the frame's mean gradient. A bezel or a paper border is a long straight edge
    (support near 1); furniture and walls give one too, which is why the screen signal also asks
    for edges on several sides that move with the face.
    """
    h, w = pixels.shape[:2]
    step = w / EDGE_W
    nh = max(8, int(h / step))
    # Average 2x2 samples per output pixel: nearest-neighbour sampling alone would alias a screen's
    # sub-pixel stripes into strong fake gradients everywhere and drown the bezel's edge.
    half = max(1.0, step / 2)
    grey = (
        sum(
            _grey(_sample(pixels, dx * half, dy * half, step, h / nh, EDGE_W, nh))
            for dx in (0, 1)
            for dy in (0, 1)
        )
        / 4.0
    )
    gx = np.abs(np.diff(grey, axis=1))
    gy = np.abs(np.diff(grey, axis=0))
    box = face.box
    size = max(box.w, box.h) / step
    left, right = box.x / step, (box.x + box.w) / step
    top, bottom = box.y / (h / nh), (box.y + box.h) / (h / nh)
    cx, cy = box.cx / step, box.cy / (h / nh)
    vertical_span = (max(0, int(top - 0.5 * size)), min(nh, int(bottom + 0.5 * size)))
    horizontal_span = (max(0, int(left - 0.5 * size)), min(EDGE_W - 1, int(right + 0.5 * size)))
    # Three times the mean gradient: well above texture and noise, below any clean border.
    level = 3.0 * max(float(gx.mean()), float(gy.mean()), 0.5)
    gyt = gy.T
    return (
        _best_line(gx, level, vertical_span, range(0, int(left) - 1), cx, size),
        _best_line(gx, level, vertical_span, range(int(right) + 1, EDGE_W - 1), cx, size),
        _best_line(gyt, level, horizontal_span, range(0, int(top) - 1), cy, size),
        _best_line(gyt, level, horizontal_span, range(int(bottom) + 1, nh - 1), cy, size),
    )


def _best_line(
    grad: np.ndarray, level: float, span: tuple[int, int], positions: range, centre: float, size: float
) -> EdgeEvidence:
    """`grad` runs along a line on axis 0 and across lines on axis 1; see `_edges`."""
    if len(positions) == 0 or span[1] - span[0] < 4:
        return EdgeEvidence(0.0, 0.0)
    rows = np.arange(span[0], span[1])
    strong = grad[rows] > level  # (n_rows, n_across)
    n = strong.shape[1]
    cols = np.asarray(positions)
    shifted = np.rint(
        cols[None, None, :] + _SHEARS[:, None, None] * (rows - rows.mean())[None, :, None]
    ).astype(np.intp)  # (n_shears, n_rows, n_positions)
    valid = (shifted >= 0) & (shifted < n)
    hits = strong[np.arange(len(rows))[None, :, None], np.clip(shifted, 0, n - 1)] & valid
    support = hits.mean(axis=1)  # (n_shears, n_positions)
    k = int(np.argmax(support))
    best = float(support.flat[k])
    where = float(cols[k % len(cols)])
    return EdgeEvidence(best, abs(where - centre) / size if size > 0 and best > 0 else 0.0)
