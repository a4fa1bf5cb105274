"""Is one face in one live frame good enough to read eye state and pose from, and to match?

`assess_quality` measures a handful of cheap things on the face crop (≈0.3 ms a face) and names
every gate that fails as a `Reason`. It does not decide what to do about it: the liveness checker
and frame selection do.

Thresholds live in `config.QualitySettings`. The defaults come from measurements on the dev set:
every second frame of the eight bona fide liveness clips (1,697 MediaPipe faces) must pass, and
copies of dev photos degraded on purpose must fail (25 deepface_tests photos, and the LFW
photos used by tests/unit/analysis/test_quality.py):

* ``min_face_px`` 80: sqrt(area) of the landmark box. Bona fide dev frames: 219–367 px. Below
  ~80 px the eyelids are a few pixels tall and the eye aspect ratio is mostly noise.
* ``min_sharpness`` 10: variance of the Laplacian on the face resized to 128×128 and scaled to a
  mean luma of 100, so it depends neither on face size nor on exposure (a dim face is TOO_DARK,
  not also BLURRED). Bona fide frames: min 16.5, 1st percentile 19.8, median 113. Dev photos
  blurred with σ = 3 px (on the 128-px face) fall to 1.8–7.5; σ = 2 px gives 3.6–16.5, about as
  soft as the softest real webcam frames, so that much blur is tolerated. The phone-replay clip
  (tranvanluyt/fake.mp4) is flagged on 268 of its 295 faces.
* ``min_brightness`` 30 / ``max_brightness`` 225: mean face luma. Bona fide frames: 41–152; the
  dimmest is a real webcam clip (lestari15/real.mp4) that MediaPipe tracks without trouble. LFW
  photos darkened to 15 % fall to 16–24.
* ``max_overexposed_fraction`` 0.25: share of face pixels at luma ≥ 250 (bona fide: 0).
* ``max_centre_offset`` 0.3: box centre to frame centre over the frame diagonal (0 centred, 0.5 in
  a corner). Bona fide frames reach 0.18 during deliberate head turns.
* ``max_cut_off_fraction`` 0.1: share of the landmark box outside the frame (MediaPipe places
  landmarks past the edge when the face is cut). Bona fide frames reach 0.05 at the chin of a
  tightly framed phone selfie.
* ``min_eye_contrast`` 0.03: luma standard deviation inside each eye patch over the face's mean
  luma. Open and closed eyes both have lids, lashes and iris edges (bona fide: min 0.065,
  1st percentile 0.12); eyes covered with a skin-coloured patch give 0.000, while MediaPipe still
  places eye points there. Eye landmarks outside the frame also count as not visible.
"""

from __future__ import annotations

import cv2
import numpy as np

from portraitmatch.analysis.geometry import IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE
from portraitmatch.config import QualitySettings
from portraitmatch.types import Box, Quality, Reason

SHARPNESS_SIDE_PX = 128
SHARPNESS_MEAN_LUMA = 100.0
OVEREXPOSED_LUMA = 250


def assess_quality(
    pixels: np.ndarray,
    box: Box,
    landmarks: np.ndarray | None,
    settings: QualitySettings,
) -> Quality:
    """Measure the face inside `box` (pixels, may reach past the frame) in an RGB uint8 frame.

    `landmarks` (N, ≥2, pixels, FaceMesh order) enable the eye checks; pass None for a face that
    only has a box (eyes are then not judged). Returns `Quality` with the measured values and the
    reasons, in a fixed order, for every gate that failed.
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be HxWx3 uint8, got {pixels.shape} {pixels.dtype}")
    h, w = pixels.shape[:2]
    reasons: list[Reason] = []

    face_px = float(np.sqrt(max(box.area, 0.0)))
    diagonal = float(np.hypot(w, h))
    centre_offset = float(np.hypot(box.cx - w / 2, box.cy - h / 2) / diagonal)

    x0, y0 = max(0, int(np.floor(box.x))), max(0, int(np.floor(box.y)))
    x1, y1 = min(w, int(np.ceil(box.x + box.w))), min(h, int(np.ceil(box.y + box.h)))
    inside_area = float(max(0, x1 - x0) * max(0, y1 - y0))
    cut_off_fraction = 1.0 - inside_area / box.area if box.area > 0 else 1.0

    if face_px < settings.min_face_px:
        reasons.append(Reason.FACE_TOO_SMALL)
    if x1 - x0 < 2 or y1 - y0 < 2:
        # Nothing of the face is in the frame: none of the pixel measures mean anything.
        reasons.append(Reason.FACE_CUT_OFF)
        return Quality(reasons=tuple(reasons), face_px=face_px, centre_offset=centre_offset)

    gray = cv2.cvtColor(np.ascontiguousarray(pixels[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    brightness = float(gray.mean())
    overexposed = float(np.count_nonzero(gray >= OVEREXPOSED_LUMA)) / gray.size
    sharpness = _sharpness(gray)

    if sharpness < settings.min_sharpness:
        reasons.append(Reason.BLURRED)
    if brightness < settings.min_brightness:
        reasons.append(Reason.TOO_DARK)
    if brightness > settings.max_brightness or overexposed > settings.max_overexposed_fraction:
        reasons.append(Reason.OVEREXPOSED)
    if centre_offset > settings.max_centre_offset:
        reasons.append(Reason.OFF_CENTRE)
    if landmarks is not None and not _eyes_visible(pixels, landmarks, brightness, settings.min_eye_contrast):
        reasons.append(Reason.EYES_NOT_VISIBLE)
    if cut_off_fraction > settings.max_cut_off_fraction:
        reasons.append(Reason.FACE_CUT_OFF)

    return Quality(
        reasons=tuple(reasons),
        face_px=face_px,
        sharpness=sharpness,
        brightness=brightness,
        overexposed_fraction=overexposed,
        centre_offset=centre_offset,
    )


def _sharpness(gray_crop: np.ndarray) -> float:
    """Variance of the Laplacian of the face crop resized to 128×128 and scaled to mean luma 100.

    Raw Laplacian variance grows with resolution (a 400-px face looks sharper than the same face at
    100 px) and with the square of contrast (a dim face looks blurred), so the crop is brought to
    one size and one mean brightness first. INTER_AREA when shrinking, so that resizing does not
    add aliasing "detail".
    """
    side = SHARPNESS_SIDE_PX
    interp = cv2.INTER_AREA if min(gray_crop.shape) >= side else cv2.INTER_LINEAR
    small = cv2.resize(gray_crop, (side, side), interpolation=interp).astype(np.float32)
    mean = float(small.mean())
    if mean < 1.0:
        return 0.0
    lap = cv2.Laplacian(small * (SHARPNESS_MEAN_LUMA / mean), cv2.CV_32F, ksize=1)
    return float(lap.var())


def eye_patch_contrast(pixels: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """Luma standard deviation in a patch around each eye (image-left, image-right).

    The patch is the box of the six EAR points, made at least half as tall as it is wide so a
    closed eye still includes lid and lashes. An eye whose patch is not inside the frame gives 0.
    """
    h, w = pixels.shape[:2]
    out: list[float] = []
    for eye in (IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE):
        p = np.asarray(landmarks, dtype=np.float64)[list(eye), :2]
        (ex0, ey0), (ex1, ey1) = p.min(axis=0), p.max(axis=0)
        if ex0 < 0 or ey0 < 0 or ex1 > w or ey1 > h:
            out.append(0.0)
            continue
        cy, half_h = (ey0 + ey1) / 2, max((ey1 - ey0) / 2, (ex1 - ex0) / 4)
        px0, px1 = int(np.floor(ex0)), int(np.ceil(ex1))
        py0, py1 = max(0, int(np.floor(cy - half_h))), min(h, int(np.ceil(cy + half_h)))
        patch = pixels[py0:py1, px0:px1]
        if patch.shape[0] < 2 or patch.shape[1] < 2:
            out.append(0.0)
            continue
        luma = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2GRAY)
        out.append(float(luma.std()))
    return out[0], out[1]


def _eyes_visible(pixels: np.ndarray, landmarks: np.ndarray, face_luma: float, min_contrast: float) -> bool:
    # Relative to the face's mean luma, so a dim webcam's eyes are not taken for covered ones.
    left, right = eye_patch_contrast(pixels, landmarks)
    scale = max(face_luma, 1.0)
    return left / scale >= min_contrast and right / scale >= min_contrast
