"""Face geometry from MediaPipe FaceLandmarker outputs: eye aspect ratios, head angles, boxes.

Pure numpy, no model. Conventions (image terms, the frame as decoded, before any mirroring fix):

* The eye on the **image left** is FaceMesh points 33, 160, 158, 133, 153, 144 (the subject's right
  eye on an unmirrored camera); the eye on the **image right** is 362, 385, 387, 263, 373, 380. The
  mesh topology is fixed, so this holds whatever the head pose, as long as the face is upright
  (|roll| < 90°). Checked on the dev clips: the first set's centre lies left of the second's, and its
  EAR equals the traces' ``ear_left``.
* Angles come from the rotation part R of MediaPipe's 4×4 facial transformation matrix, which maps
  the canonical face (looking at the camera) into camera space with x to the image right, y up and z
  towards the viewer. We decompose R = Ry(yaw) · Rx(-pitch) · Rz(roll), yaw outermost because a
  head turns about the neck's vertical axis first:

  - ``yaw_deg`` = atan2(R[0,2], R[2,2]) > 0: the nose points towards the image right;
  - ``pitch_deg`` = asin(R[1,2]) > 0: the nose points up (towards the top of the frame);
  - ``roll_deg`` = atan2(R[1,0], R[1,1]) > 0: the face is turned counter-clockwise as displayed,
    i.e. the image-right eye sits higher than the image-left eye.

  For a pure turn these equal the formulas used for the dev set's traces (asin(-R[2,0]),
  -atan2(R[2,1], R[2,2])); they differ by a few degrees only when turn and nod combine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from portraitmatch.types import Box

IMAGE_LEFT_EYE: tuple[int, ...] = (33, 160, 158, 133, 153, 144)
IMAGE_RIGHT_EYE: tuple[int, ...] = (362, 385, 387, 263, 373, 380)
EYE_POINTS: tuple[int, ...] = IMAGE_LEFT_EYE + IMAGE_RIGHT_EYE


def eye_aspect_ratio(landmarks: np.ndarray, eye: Sequence[int]) -> float:
    """Soukupová–Čech eye aspect ratio of one eye: (|p2−p6| + |p3−p5|) / (2·|p1−p4|).

    `landmarks` is (N, ≥2) in pixels; `eye` names the six points p1…p6 (corner, two upper lid
    points, other corner, two lower lid points). Uses x, y only. About 0.3 for an open eye seen
    frontally, under 0.1 when closed. Returns 0.0 for a degenerate eye (corners coincide).
    """
    if len(eye) != 6:
        raise ValueError(f"an eye needs 6 points, got {len(eye)}")
    p = np.asarray(landmarks, dtype=np.float64)[list(eye), :2]
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    horizontal = np.linalg.norm(p[0] - p[3])
    if not np.isfinite(horizontal) or horizontal <= 1e-9:
        return 0.0
    return float(vertical / (2.0 * horizontal))


def eye_aspect_ratios(landmarks: np.ndarray) -> tuple[float, float]:
    """(image-left EAR, image-right EAR) from a 468/478-point FaceMesh in pixels."""
    return eye_aspect_ratio(landmarks, IMAGE_LEFT_EYE), eye_aspect_ratio(landmarks, IMAGE_RIGHT_EYE)


def head_angles_deg(transform: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a 4×4 (or 3×3) face transformation matrix.

    Signs as in the module docstring. Columns are normalised first, so a matrix that also carries
    a uniform scale gives the same angles.
    """
    m = np.asarray(transform, dtype=np.float64)
    if m.shape not in ((4, 4), (3, 3)):
        raise ValueError(f"expected a 4x4 or 3x3 matrix, got shape {m.shape}")
    r = m[:3, :3]
    norms = np.linalg.norm(r, axis=0)
    if not np.all(np.isfinite(r)) or np.any(norms <= 1e-9):
        raise ValueError("transformation matrix is degenerate")
    r = r / norms
    yaw = math.atan2(r[0, 2], r[2, 2])
    pitch = math.asin(max(-1.0, min(1.0, r[1, 2])))
    roll = math.atan2(r[1, 0], r[1, 1])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def rotation_from_angles_deg(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3×3 rotation that `head_angles_deg` decomposes: Ry(yaw) · Rx(−pitch) · Rz(roll)."""
    y, p, r = (math.radians(v) for v in (yaw_deg, -pitch_deg, roll_deg))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def box_from_landmarks(landmarks: np.ndarray) -> Box:
    """The tightest box around the landmarks' x, y (pixels). Not clipped to the frame: a box that
    reaches past an edge is how a cut-off face shows."""
    p = np.asarray(landmarks, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError(f"landmarks must be (N, >=2) with N > 0, got {p.shape}")
    x0, y0 = p[:, 0].min(), p[:, 1].min()
    x1, y1 = p[:, 0].max(), p[:, 1].max()
    return Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0))
