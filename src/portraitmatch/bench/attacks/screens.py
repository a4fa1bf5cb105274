"""Screen attacks: a still photo on a phone or tablet, and a recorded video replayed on a screen."""

from __future__ import annotations

import cv2
import numpy as np

from portraitmatch.bench.attacks import AttackClip, Source, frame_times, smooth_path
from portraitmatch.bench.attacks.prints import OUTPUT_SIZES, pick_neutral
from portraitmatch.bench.attacks.render import SheetPose, as_screen, backdrop, camera, glare, render_sheet
from portraitmatch.types import Frame

SCREEN_PIXELS = (240, 320)  # (width, height) of the displayed picture in screen pixels
SUBPIXELS = 3


class _Display:
    """A display held (or standing) in front of the camera, showing pictures cut from one clip."""

    def __init__(
        self, source: Source, indices: list[int], rng: np.random.Generator, *, close_up: bool
    ) -> None:
        boxes = [source.analyses[i].primary.box for i in indices if source.analyses[i].primary is not None]
        if not boxes:
            raise ValueError(f"{source.name}: no face in the replayed frames")
        cx = float(np.median([b.cx for b in boxes]))
        cy = float(np.median([b.cy for b in boxes]))
        fw = float(np.median([b.w for b in boxes]))
        frame = source.frames[indices[0]].pixels
        h, w = frame.shape[:2]
        # The displayed picture: the head and its surroundings in the screen's 3:4 aspect.
        half_h = min(h / 2, 2.0 * fw)
        half_w = min(w / 2, half_h * 0.75)
        x0 = int(np.clip(cx - half_w, 0, w - 2 * half_w))
        y0 = int(np.clip(cy - half_h, 0, h - 2 * half_h))
        self.window = (x0, y0, int(2 * half_w), int(2 * half_h))
        self.face_on_screen = fw / (2 * half_w) * SCREEN_PIXELS[0] * SUBPIXELS  # content px
        self.close_up = close_up
        self.out_w, self.out_h = OUTPUT_SIZES[int(rng.integers(len(OUTPUT_SIZES)))]
        self.background = backdrop(cv2.resize(frame, (self.out_w, self.out_h)), rng)
        target_face = rng.uniform(260, 340) if close_up else rng.uniform(130, 200)
        self.scale = target_face / self.face_on_screen
        self.glare = rng.uniform(10, 35)
        self.glare_seed = int(rng.integers(2**31))
        self.screen_seed = int(rng.integers(2**31))

    def picture(self, frame: np.ndarray) -> np.ndarray:
        x0, y0, w, h = self.window
        crop = frame[y0 : y0 + h, x0 : x0 + w]
        small = cv2.resize(crop, SCREEN_PIXELS, interpolation=cv2.INTER_AREA)
        return as_screen(small, np.random.default_rng(self.screen_seed), subpixels=SUBPIXELS)

    def render(self, picture: np.ndarray, pose: SheetPose, rng: np.random.Generator) -> np.ndarray:
        placed = SheetPose(
            yaw_deg=pose.yaw_deg,
            pitch_deg=pose.pitch_deg,
            roll_deg=pose.roll_deg,
            shift_x=pose.shift_x,
            shift_y=pose.shift_y,
            scale=self.scale * pose.scale,
        )
        image = render_sheet(picture, self.background, placed)
        return camera(glare(image, np.random.default_rng(self.glare_seed), self.glare), rng)


def _poses(rng: np.random.Generator, n: int, fps: float, handheld: bool) -> list[SheetPose]:
    s = 1.0 if handheld else 0.15
    yaw, pitch, roll = (smooth_path(rng, n, fps, a * s) for a in (8.0, 6.0, 4.0))
    sx, sy, sc = (smooth_path(rng, n, fps, a * s) for a in (0.04, 0.03, 0.04))
    base_yaw, base_pitch = rng.uniform(-12, 12), rng.uniform(-8, 8)
    return [
        SheetPose(
            yaw_deg=base_yaw + yaw[k],
            pitch_deg=base_pitch + pitch[k],
            roll_deg=roll[k],
            shift_x=sx[k],
            shift_y=sy[k],
            scale=1 + sc[k],
        )
        for k in range(n)
    ]


def screen_photo(
    source: Source, rng: np.random.Generator, *, close_up: bool, seconds: float = 3.0
) -> AttackClip:
    index = pick_neutral(source, rng)
    display = _Display(source, [index], rng, close_up=close_up)
    picture = display.picture(source.frames[index].pixels)
    fps = 30.0
    n = int(seconds * fps)
    frames = [display.render(picture, p, rng) for p in _poses(rng, n, fps, handheld=True)]
    times = frame_times(n, fps)
    kind = "close-up" if close_up else "bezel in view"
    return AttackClip(
        name=f"screen_photo/{source.name}/{'close' if close_up else 'bezel'}",
        attack_type="screen_photo",
        source=source.name,
        frames=[Frame(f, t_ms=t, index=k) for k, (f, t) in enumerate(zip(frames, times, strict=True))],
        notes=f"still photo on a hand-held phone, {kind}",
    )


def screen_video(
    source: Source, rng: np.random.Generator, start: int, stop: int, *, close_up: bool, handheld: bool
) -> AttackClip:
    """Frames ``start:stop`` of the source replayed on a display, at the source's own timing."""
    indices = list(range(start, stop))
    display = _Display(source, indices, rng, close_up=close_up)
    poses = _poses(rng, len(indices), source.fps, handheld=handheld)
    frames = []
    t0 = source.frames[start].t_ms
    for k, (i, pose) in enumerate(zip(indices, poses, strict=True)):
        src = source.frames[i]
        image = display.render(display.picture(src.pixels), pose, rng)
        frames.append(Frame(image, t_ms=src.t_ms - t0, index=k))
    how = ("hand-held" if handheld else "standing") + (", close-up" if close_up else ", bezel in view")
    return AttackClip(
        name=f"screen_video/{source.name}@{start}/{'close' if close_up else 'bezel'}",
        attack_type="screen_video",
        source=source.name,
        frames=frames,
        notes=f"recorded video replayed on a screen, {how}",
    )
