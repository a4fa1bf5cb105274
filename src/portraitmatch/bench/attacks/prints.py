"""Printed-photo attacks: held up and moved, tilted/folded/bent to fake turns, eyes covered."""

from __future__ import annotations

import cv2
import numpy as np

from portraitmatch.bench.attacks import AttackClip, Source, frame_times, smooth_path
from portraitmatch.bench.attacks.render import SheetPose, as_print, backdrop, camera, render_sheet
from portraitmatch.types import Frame, FrameAnalysis

FPS = 30.0
OUTPUT_SIZES = ((640, 480), (480, 640))  # (width, height): a webcam, a phone held upright
TURN_VARIANTS = ("tilt", "fold", "bend")


def pick_neutral(source: Source, rng: np.random.Generator) -> int:
    """A frame facing the camera with open eyes and a usable face, chosen at random among them."""
    faces = [(i, a.primary) for i, a in enumerate(source.analyses) if a.primary is not None]
    if not faces:
        raise ValueError(f"{source.name} has no face frame")
    yaw = np.median([f.yaw_deg for _, f in faces])
    pitch = np.median([f.pitch_deg for _, f in faces])
    openness = np.median([f.eye_openness for _, f in faces])
    good = [
        i
        for i, f in faces
        if abs(f.yaw_deg - yaw) < 4
        and abs(f.pitch_deg - pitch) < 4
        and f.eye_openness > 0.85 * openness
        and f.quality.is_usable
    ]
    pool = good or [i for i, _ in faces]
    return int(pool[int(rng.integers(len(pool)))])


def photo_of(
    frame: np.ndarray, analysis: FrameAnalysis, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int]]:
    """The part of a frame a printed portrait shows: the head and some background, inside the frame.

    Returns the crop and its top-left corner in the frame.
    """
    face = analysis.primary
    assert face is not None
    b = face.box
    h, w = frame.shape[:2]
    half_w = b.w * rng.uniform(0.9, 1.5)
    up, down = b.h * rng.uniform(1.0, 1.6), b.h * rng.uniform(0.9, 1.5)
    x0 = int(np.clip(b.cx - half_w, 0, w - 1))
    x1 = int(np.clip(b.cx + half_w, x0 + 1, w))
    y0 = int(np.clip(b.cy - up, 0, h - 1))
    y1 = int(np.clip(b.cy + down, y0 + 1, h))
    return np.ascontiguousarray(frame[y0:y1, x0:x1]), (x0, y0)


class _PrintedPhoto:
    """A print of one source frame and where its features are on the sheet."""

    def __init__(
        self, source: Source, index: int, rng: np.random.Generator, *, close_up: bool = False
    ) -> None:
        frame = source.frames[index].pixels
        analysis = source.analyses[index]
        face = analysis.primary
        assert face is not None
        self.photo, origin = photo_of(frame, analysis, rng)
        self.print_seed = int(rng.integers(2**31))
        self.sheet = as_print(self.photo, np.random.default_rng(self.print_seed))
        self.margin = (self.sheet.shape[1] - self.photo.shape[1]) // 2
        self.origin = origin
        self.landmarks = face.landmarks[:, :2] - np.array(origin) + self.margin
        self.face_w = face.box.w
        self.out_w, self.out_h = OUTPUT_SIZES[int(rng.integers(len(OUTPUT_SIZES)))]
        self.background = backdrop(cv2.resize(frame, (self.out_w, self.out_h)), rng)
        # Show the printed face 140-220 px wide, or held so close (260-340 px) that the paper's
        # edges are out of view.
        self.scale = (rng.uniform(260, 340) if close_up else rng.uniform(140, 220)) / self.face_w
        self.close_up = close_up
        # Place the face near the frame centre, wherever it sits on the sheet.
        nose = self.landmarks[4]
        self.offset = (
            (self.sheet.shape[1] / 2 - nose[0]) * self.scale / self.out_w,
            (self.sheet.shape[0] / 2 - nose[1]) * self.scale / self.out_h,
        )

    @property
    def crease(self) -> tuple[float, float]:
        nose = self.landmarks[4]
        return (float(nose[0]), float(nose[1]))

    def render(
        self, pose: SheetPose, rng: np.random.Generator, sheet: np.ndarray | None = None
    ) -> np.ndarray:
        placed = SheetPose(
            yaw_deg=pose.yaw_deg,
            pitch_deg=pose.pitch_deg,
            roll_deg=pose.roll_deg,
            fold_deg=pose.fold_deg,
            fold_vertical=pose.fold_vertical,
            bend=pose.bend,
            shift_x=pose.shift_x + self.offset[0],
            shift_y=pose.shift_y + self.offset[1],
            scale=self.scale * pose.scale,
        )
        content = self.sheet if sheet is None else sheet
        return camera(render_sheet(content, self.background, placed, crease_px=self.crease), rng)


def _wobble(rng: np.random.Generator, n: int, strength: float) -> list[SheetPose]:
    yaw = smooth_path(rng, n, FPS, 8 * strength)
    pitch = smooth_path(rng, n, FPS, 6 * strength)
    roll = smooth_path(rng, n, FPS, 4 * strength)
    sx = smooth_path(rng, n, FPS, 0.05 * strength)
    sy = smooth_path(rng, n, FPS, 0.04 * strength)
    sc = smooth_path(rng, n, FPS, 0.05 * strength)
    return [
        SheetPose(
            yaw_deg=yaw[k],
            pitch_deg=pitch[k],
            roll_deg=roll[k],
            shift_x=sx[k],
            shift_y=sy[k],
            scale=1 + sc[k],
        )
        for k in range(n)
    ]


def _clip(name: str, kind: str, source: Source, frames: list[np.ndarray], notes: str) -> AttackClip:
    times = frame_times(len(frames), FPS)
    return AttackClip(
        name=name,
        attack_type=kind,
        source=source.name,
        frames=[Frame(f, t_ms=t, index=k) for k, (f, t) in enumerate(zip(frames, times, strict=True))],
        notes=notes,
    )


def _held(close_up: bool) -> str:
    return "close" if close_up else "edges"


def print_moved(
    source: Source, rng: np.random.Generator, *, close_up: bool, seconds: float = 3.0
) -> AttackClip:
    photo = _PrintedPhoto(source, pick_neutral(source, rng), rng, close_up=close_up)
    n = int(seconds * FPS)
    frames = [photo.render(p, rng) for p in _wobble(rng, n, strength=rng.uniform(0.6, 1.2))]
    name = f"print_moved/{source.name}/{_held(close_up)}"
    return _clip(name, "print_moved", source, frames, "hand-held print, moved about")


def _profile(n_still: int, n_ramp: int, n_hold: int) -> np.ndarray:
    """0 → 1 → 0 with smooth ramps: still, turn, hold, come back, still."""
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n_ramp))
    return np.concatenate([np.zeros(n_still), ramp, np.ones(n_hold), ramp[::-1], np.zeros(n_still)])


def print_turn(
    source: Source, rng: np.random.Generator, variant: str, axis: str, sign: float, *, close_up: bool
) -> AttackClip:
    """Fake a turn with the print: ``variant`` tilt (rotate the flat sheet), fold (crease along the
    nose, then rotate) or bend (curve the sheet, then rotate); ``axis`` yaw or pitch."""
    if variant not in TURN_VARIANTS or axis not in ("yaw", "pitch"):
        raise ValueError(f"unknown print_turn variant {variant}/{axis}")
    photo = _PrintedPhoto(source, pick_neutral(source, rng), rng, close_up=close_up)
    prof = _profile(int(0.7 * FPS), int(rng.uniform(0.4, 0.7) * FPS), int(rng.uniform(0.3, 0.6) * FPS))
    wobble = _wobble(rng, len(prof), strength=0.3)
    peak = {"tilt": rng.uniform(45, 60), "fold": rng.uniform(30, 45), "bend": rng.uniform(30, 45)}[variant]
    fold = rng.uniform(20, 35) if variant == "fold" else 0.0
    bend = rng.uniform(1.0, 1.6) if variant == "bend" else 0.0
    frames = []
    for a, w in zip(prof, wobble, strict=True):
        turn = sign * peak * a
        pose = SheetPose(
            yaw_deg=w.yaw_deg * 0.3 + (turn if axis == "yaw" else 0.0),
            pitch_deg=w.pitch_deg * 0.3 + (turn if axis == "pitch" else 0.0),
            roll_deg=w.roll_deg,
            fold_deg=fold * min(1.0, 3 * a) if variant == "fold" else 0.0,
            fold_vertical=axis == "yaw",
            bend=bend * min(1.0, 3 * a) if variant == "bend" else 0.0,
            shift_x=w.shift_x,
            shift_y=w.shift_y,
            scale=w.scale,
        )
        frames.append(photo.render(pose, rng))
    name = f"print_turn/{source.name}/{variant}-{axis}{'+' if sign > 0 else '-'}/{_held(close_up)}"
    clip = _clip(name, "print_turn", source, frames, f"{variant} about the {axis} axis, {peak:.0f}° peak")
    clip.extra = {"peak_deg": float(peak), "fold_deg": float(fold), "bend_rad": float(bend)}
    return clip


def eye_cover(source: Source, rng: np.random.Generator, variant: str, *, close_up: bool) -> AttackClip:
    """A print whose eyes are covered twice for 150-350 ms: ``variant`` "strip" (a skin-coloured
    strip with a drawn lash line across both eyes) or "flaps" (printed closed eyes of the same
    person, from a real blink of the source clip, over each eye)."""
    index = pick_neutral(source, rng)
    photo = _PrintedPhoto(source, index, rng, close_up=close_up)
    lm = photo.landmarks
    if variant == "flaps" and source.blink_frames:
        closed = _closed_eye_sheet(source, photo, rng)
    elif variant in ("strip", "flaps"):
        variant = "strip"
        closed = _strip_sheet(photo, rng)
    else:
        raise ValueError(f"unknown eye_cover variant {variant}")
    n = int(rng.uniform(3.0, 4.0) * FPS)
    starts = sorted(rng.choice(np.arange(int(0.8 * FPS), n - int(0.6 * FPS)), size=2, replace=False))
    if starts[1] - starts[0] < int(0.6 * FPS):
        starts[1] = min(n - int(0.5 * FPS), starts[0] + int(0.7 * FPS))
    durations = [int(rng.uniform(0.15, 0.35) * FPS) for _ in starts]
    eyes_y = float(np.mean(lm[[33, 133, 263, 362], 1]))
    frames = []
    for k, pose in enumerate(_wobble(rng, n, strength=rng.uniform(0.3, 0.7))):
        sheet = photo.sheet
        for s, d in zip(starts, durations, strict=True):
            if s <= k < s + d:
                # The cover slides down over the first frame and up over the last, like a lid.
                part = 0.5 if k in (s, s + d - 1) else 1.0
                sheet = _cover(photo.sheet, closed, eyes_y, part, photo.face_w)
        frames.append(photo.render(pose, rng, sheet))
    name = f"eye_cover/{source.name}/{variant}/{_held(close_up)}"
    return _clip(name, "eye_cover", source, frames, f"{variant} over the eyes")


def _cover(sheet: np.ndarray, covered: np.ndarray, eyes_y: float, part: float, face_w: float) -> np.ndarray:
    """`sheet` with the rows of `covered` around the eyes swapped in (all of them when part is 1,
    the upper half of the band when 0.5)."""
    out = sheet.copy()
    band = 0.22 * face_w
    top = int(max(0, eyes_y - band))
    bottom = int(min(sheet.shape[0], eyes_y - band + 2 * band * part))
    mask = np.any(covered[top:bottom] != sheet[top:bottom], axis=2)
    out[top:bottom][mask] = covered[top:bottom][mask]
    return out


def _strip_sheet(photo: _PrintedPhoto, rng: np.random.Generator) -> np.ndarray:
    """The print with a skin-coloured strip over both eyes and a drawn lash line on it."""
    lm = photo.landmarks
    sheet = photo.sheet.copy()
    cheeks = np.array([lm[50], lm[280]]).astype(int)
    r = max(2, int(0.03 * photo.face_w))
    skin = np.mean([sheet[y - r : y + r, x - r : x + r].reshape(-1, 3).mean(0) for x, y in cheeks], axis=0)
    x0 = int(lm[[33, 263], 0].min() - 0.12 * photo.face_w)
    x1 = int(lm[[33, 263], 0].max() + 0.12 * photo.face_w)
    yc = float(np.mean(lm[[33, 133, 263, 362], 1]))
    half = rng.uniform(0.07, 0.12) * photo.face_w
    y0, y1 = int(yc - half), int(yc + half)
    strip = np.empty((max(1, y1 - y0), max(1, x1 - x0), 3), np.float32)
    strip[:] = skin * rng.uniform(0.92, 1.05)
    strip += np.random.default_rng(int(rng.integers(2**31))).normal(0, 3, strip.shape)
    sheet[y0:y1, x0:x1] = np.clip(strip, 0, 255).astype(np.uint8)
    lash = max(1, int(0.012 * photo.face_w))
    for outer, inner in ((33, 133), (263, 362)):
        p, q = lm[outer], lm[inner]
        cv2.line(
            sheet,
            (int(p[0]), int(yc + 0.02 * photo.face_w)),
            (int(q[0]), int(yc + 0.02 * photo.face_w)),
            (40, 30, 30),
            lash,
        )
    return sheet


def _closed_eye_sheet(source: Source, photo: _PrintedPhoto, rng: np.random.Generator) -> np.ndarray:
    """The print with flaps cut from a print of the same person's closed eyes (a real blink frame),
    aligned on the eye corners, over each eye; each flap shows a thin paper edge."""
    k = int(source.blink_frames[int(rng.integers(len(source.blink_frames)))])
    blink_face = source.analyses[k].primary
    if blink_face is None:
        return _strip_sheet(photo, rng)
    closed_print = as_print(source.frames[k].pixels, np.random.default_rng(photo.print_seed))
    margin = (closed_print.shape[1] - source.frames[k].pixels.shape[1]) // 2
    src_pts = (blink_face.landmarks[[33, 133, 263, 362], :2] + margin).astype(np.float32)
    dst_pts = photo.landmarks[[33, 133, 263, 362]].astype(np.float32)
    m, _ = cv2.estimateAffinePartial2D(src_pts, dst_pts)
    if m is None:
        return _strip_sheet(photo, rng)
    h, w = photo.sheet.shape[:2]
    warped = cv2.warpAffine(closed_print, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sheet = photo.sheet.copy()
    lm = photo.landmarks
    edge = (int(rng.uniform(60, 120)),) * 3
    for outer, inner in ((33, 133), (263, 362)):
        c = (lm[outer] + lm[inner]) / 2
        ew = float(np.linalg.norm(lm[outer] - lm[inner]))
        x0, x1 = int(c[0] - 0.85 * ew), int(c[0] + 0.85 * ew)
        y0, y1 = int(c[1] - 0.55 * ew), int(c[1] + 0.45 * ew)
        sheet[y0:y1, x0:x1] = warped[y0:y1, x0:x1]
        cv2.rectangle(sheet, (x0, y0), (x1 - 1, y1 - 1), edge, 1)
    return sheet
