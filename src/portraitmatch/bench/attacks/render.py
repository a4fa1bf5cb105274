"""Render a photo or a screen held in front of a camera: the physics the attack generators share.

A *sheet* (a printed photo or a display) is a surface in front of a pinhole camera. It may be
tilted (yaw, pitch, roll), folded along a crease (the classic way to fake a head turn with a
photo), or bent around a vertical axis, and moved about. `render_sheet` draws it over a background
by inverse mapping: each output pixel is traced back to the sheet by Newton iterations on a coarse
grid (every `MAP_STEP` pixels), and the map is interpolated in between, which keeps a 640x480
frame at a few milliseconds. Surfaces facing away from the camera are shaded darker (Lambert), so
a fold shows its crease as it would under room light.

`as_print` and `as_screen` turn a camera frame into what the attacker holds up: a print (paper
margin, flattened contrast, ink gamut, slight blur, paper grain) or a display (bezel, emitted
light with a blue cast, the RGB sub-pixel grid that the camera then samples into moiré, glare).
`camera` adds what the capturing camera adds (sensor noise, slight defocus, JPEG).

Everything is deterministic given the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAP_STEP = 6
_NEWTON_ITERATIONS = 8
_FOCAL = 1.3  # focal length in output widths (a typical webcam's ~60° horizontal view)


@dataclass(frozen=True, slots=True)
class SheetPose:
    """Where the sheet is. Angles in degrees; shift in output widths/heights; scale: output pixels
    per sheet pixel when the sheet faces the camera."""

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    fold_deg: float = 0.0  # each half turned away from the camera by this much about the crease
    fold_vertical: bool = True  # crease along the sheet's vertical axis (fakes yaw) or horizontal
    bend: float = 0.0  # arc (radians) spanned by the sheet's width when curved around a vertical axis
    shift_x: float = 0.0
    shift_y: float = 0.0
    scale: float = 1.0


def _rotation(pose: SheetPose) -> np.ndarray:
    y, p, r = np.radians([pose.yaw_deg, pose.pitch_deg, pose.roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _surface(
    u: np.ndarray, v: np.ndarray, pose: SheetPose, crease: tuple[float, float], width: float
) -> np.ndarray:
    """3D points (…, 3) of sheet coordinates (u, v) (sheet pixels from its centre), before rotation."""
    x, y, z = u.astype(np.float64), v.astype(np.float64), np.zeros_like(u, dtype=np.float64)
    if pose.bend > 0:
        radius = width / pose.bend
        phi = x / radius
        x, z = radius * np.sin(phi), radius * (1 - np.cos(phi))
    if pose.fold_deg:
        a = np.radians(pose.fold_deg)
        if pose.fold_vertical:
            d = x - crease[0]
            x, z = crease[0] + d * np.cos(a), z + np.abs(d) * np.sin(a)
        else:
            d = y - crease[1]
            y, z = crease[1] + d * np.cos(a), z + np.abs(d) * np.sin(a)
    return np.stack([x, y, z], axis=-1) * pose.scale


def _project(points: np.ndarray, pose: SheetPose, out_w: int, out_h: int) -> tuple[np.ndarray, np.ndarray]:
    f = _FOCAL * out_w
    p = points @ _rotation(pose).T
    zc = p[..., 2] + f
    return (
        f * p[..., 0] / zc + out_w / 2 + pose.shift_x * out_w,
        f * p[..., 1] / zc + out_h / 2 + pose.shift_y * out_h,
    )


def render_sheet(
    content: np.ndarray,
    background: np.ndarray,
    pose: SheetPose,
    crease_px: tuple[float, float] | None = None,
) -> np.ndarray:
    """Draw RGB `content` as a sheet in `pose` over `background` (which sets the output size).

    `crease_px` is the fold line's position in content pixels (default: the centre).
    """
    ch, cw = content.shape[:2]
    oh, ow = background.shape[:2]
    crease = (0.0, 0.0) if crease_px is None else (crease_px[0] - cw / 2, crease_px[1] - ch / 2)
    gx = np.arange(0, ow + MAP_STEP, MAP_STEP, dtype=np.float64)
    gy = np.arange(0, oh + MAP_STEP, MAP_STEP, dtype=np.float64)
    xs, ys = np.meshgrid(gx, gy)
    # Start from the inverse of the unrotated placement, then Newton on the full mapping.
    u = (xs - ow / 2 - pose.shift_x * ow) / pose.scale
    v = (ys - oh / 2 - pose.shift_y * oh) / pose.scale
    eps = 0.5
    for _ in range(_NEWTON_ITERATIONS):
        x1, y1 = _project(_surface(u, v, pose, crease, cw), pose, ow, oh)
        xu, yu = _project(_surface(u + eps, v, pose, crease, cw), pose, ow, oh)
        xv, yv = _project(_surface(u, v + eps, pose, crease, cw), pose, ow, oh)
        a, b, c, d = (xu - x1) / eps, (xv - x1) / eps, (yu - y1) / eps, (yv - y1) / eps
        det = a * d - b * c
        det = np.where(np.abs(det) < 1e-9, 1e-9, det)
        rx, ry = xs - x1, ys - y1
        u = u + np.clip((d * rx - b * ry) / det, -cw, cw)
        v = v + np.clip((-c * rx + a * ry) / det, -ch, ch)
    x1, y1 = _project(_surface(u, v, pose, crease, cw), pose, ow, oh)
    converged = np.hypot(x1 - xs, y1 - ys) < 0.5
    # Lambert shading from the surface normal (its z component towards the camera).
    p = _surface(u, v, pose, crease, cw) @ _rotation(pose).T
    pu = _surface(u + eps, v, pose, crease, cw) @ _rotation(pose).T - p
    pv = _surface(u, v + eps, pose, crease, cw) @ _rotation(pose).T - p
    normal = np.cross(pu, pv)
    nz = np.abs(normal[..., 2]) / (np.linalg.norm(normal, axis=-1) + 1e-12)
    shade = 0.72 + 0.28 * nz
    full = (len(gx) * MAP_STEP, len(gy) * MAP_STEP)

    def upsample(a: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        return cv2.resize(a.astype(np.float32), full, interpolation=interpolation)[:oh, :ow]

    map_x, map_y = upsample(u + cw / 2), upsample(v + ch / 2)
    inside = (map_x >= 0) & (map_x <= cw - 1) & (map_y >= 0) & (map_y <= ch - 1)
    inside &= upsample(converged, cv2.INTER_NEAREST) > 0
    weight = cv2.GaussianBlur(inside.astype(np.float32), (3, 3), 0.7) * upsample(shade)
    sheet = cv2.remap(content, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # out = sheet·shade·coverage + background·(1 - coverage); shade ≤ 1 so the weights stay in range
    coverage = cv2.GaussianBlur(inside.astype(np.float32), (3, 3), 0.7)
    w3 = cv2.merge([weight] * 3)
    b3 = cv2.merge([1.0 - coverage] * 3)
    out = cv2.add(cv2.multiply(sheet, w3, dtype=cv2.CV_32F), cv2.multiply(background, b3, dtype=cv2.CV_32F))
    return np.clip(out, 0, 255).astype(np.uint8)


def backdrop(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A room-like background without a face: the frame blurred beyond recognition, with a gradient."""
    h, w = frame.shape[:2]
    sigma = 0.08 * max(h, w)
    small = cv2.resize(frame, (max(8, w // 8), max(8, h // 8)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / 8)
    base = cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    ramp = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None] * rng.uniform(-25, 25)
    tint = rng.uniform(0.85, 1.1, size=3).astype(np.float32)
    return np.clip(base * tint + ramp, 0, 255).astype(np.uint8)


def crop_around(frame: np.ndarray, cx: float, cy: float, half_w: float, half_h: float) -> np.ndarray:
    """A crop centred on (cx, cy), edge-replicated where it leaves the frame."""
    h, w = frame.shape[:2]
    x0, y0 = round(cx - half_w), round(cy - half_h)
    x1, y1 = round(cx + half_w), round(cy + half_h)
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
    return np.ascontiguousarray(frame[y0:y1, x0:x1])


def as_print(photo: np.ndarray, rng: np.random.Generator, *, margin: float = 0.04) -> np.ndarray:
    """What a printed photo looks like: paper margin, ink contrast and gamut, slight blur, grain."""
    img = photo.astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * rng.uniform(0.75, 0.9)  # ink gamut: less saturated
    img = 0.8 * img + rng.uniform(15, 30)  # paper white and ink black: flattened contrast
    img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** rng.uniform(1.05, 1.2)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.0))
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    h, w = img.shape[:2]
    m = max(2, int(margin * max(h, w)))
    paper = np.full((h + 2 * m, w + 2 * m, 3), rng.uniform(225, 245), dtype=np.float32)
    paper[m : m + h, m : m + w] = img
    return np.clip(paper, 0, 255).astype(np.uint8)


def as_screen(
    picture: np.ndarray, rng: np.random.Generator, *, bezel: float = 0.05, subpixels: int = 3
) -> np.ndarray:
    """What a display showing `picture` looks like up close: emitted light with a blue cast, the
    RGB sub-pixel stripes (each picture pixel becomes `subpixels` columns), and a dark bezel."""
    img = picture.astype(np.float32)
    img = 255.0 * (img / 255.0) ** rng.uniform(0.85, 0.95)
    img *= np.array([rng.uniform(0.9, 0.97), 1.0, rng.uniform(1.03, 1.1)], dtype=np.float32)
    w = img.shape[1]
    big = np.repeat(np.repeat(img, subpixels, axis=0), subpixels, axis=1)
    # Sub-pixel stripes and the dark gaps between pixel rows, at the contrast a phone camera
    # resolves a display from a hand's length (stronger masks hide the face from the detector,
    # which real replays never do).
    floor = 0.75
    stripes = np.full((1, w * subpixels, 3), floor, dtype=np.float32)
    for c in range(3):
        stripes[0, c::subpixels, c] = 1.0
    big = big * stripes * (3.0 / (1.0 + 2 * floor))
    big[subpixels - 1 :: subpixels, :, :] *= 0.85
    bh, bw = big.shape[:2]
    b = max(2, int(bezel * max(bh, bw)))
    frame = np.full((bh + 2 * b, bw + 2 * b, 3), rng.uniform(12, 30), dtype=np.float32)
    frame[b : b + bh, b : b + bw] = big
    return np.clip(frame, 0, 255).astype(np.uint8)


def glare(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A soft specular reflection (a lamp in the glass), fixed in the camera's view."""
    h, w = image.shape[:2]
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.1, 0.5) * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spot = np.exp(-(((xx - cx) / (0.18 * w)) ** 2 + ((yy - cy) / (0.1 * h)) ** 2))
    return np.clip(image.astype(np.float32) + strength * spot[..., None], 0, 255).astype(np.uint8)


_NOISE: dict[tuple[int, int], np.ndarray] = {}


def _noise_bank(h: int, w: int) -> np.ndarray:
    """Sensor noise (σ 2 grey levels) to crop from: drawing it per frame took longer than rendering."""
    key = (h + 64, w + 64)
    if key not in _NOISE:
        _NOISE[key] = np.rint(np.random.default_rng(7).normal(0, 2.0, (*key, 3))).astype(np.int16)
    return _NOISE[key]


def camera(image: np.ndarray, rng: np.random.Generator, *, jpeg_quality: int = 88) -> np.ndarray:
    """The capturing camera: slight defocus, sensor noise, JPEG compression."""
    img = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 0.8))
    h, w = img.shape[:2]
    bank = _noise_bank(h, w)
    oy, ox = int(rng.integers(0, bank.shape[0] - h + 1)), int(rng.integers(0, bank.shape[1] - w + 1))
    img = np.clip(cv2.add(img.astype(np.int16), bank[oy : oy + h, ox : ox + w]), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    )
    if not ok:
        return img
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
