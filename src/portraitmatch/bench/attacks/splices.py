"""Attacks made by re-arranging real capture frames: a person switch and injected streams.

These re-use the source's frames unchanged (or moved by a known similarity transform), so their
analyses are derived rather than recomputed: a frame's landmarks and box move with the transform,
angles and eye ratios do not change.
"""

from __future__ import annotations

import cv2
import numpy as np

from portraitmatch.bench.attacks import AttackClip, Source
from portraitmatch.bench.attacks.render import backdrop
from portraitmatch.types import Box, FaceObservation, Frame, FrameAnalysis


def _moved(analysis: FrameAnalysis, m: np.ndarray, index: int, t_ms: float, w: int, h: int) -> FrameAnalysis:
    faces = []
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    for f in analysis.faces:
        pts = f.landmarks.copy()
        pts[:, :2] = pts[:, :2] @ m[:, :2].T + m[:, 2]
        pts[:, 2] *= scale
        b = f.box
        x, y = np.array([b.x, b.y]) @ m[:, :2].T + m[:, 2]
        faces.append(
            FaceObservation(
                box=Box(float(x), float(y), b.w * scale, b.h * scale),
                landmarks=pts,
                yaw_deg=f.yaw_deg,
                pitch_deg=f.pitch_deg,
                roll_deg=f.roll_deg,
                ear_left=f.ear_left,
                ear_right=f.ear_right,
                blink_left=f.blink_left,
                blink_right=f.blink_right,
                quality=f.quality,
            )
        )
    return FrameAnalysis(index, t_ms, w, h, tuple(faces))


def person_switch(
    a: Source, a_stop: int, b: Source, b_start: int, b_stop: int, rng: np.random.Generator, variant: str
) -> AttackClip:
    """Frames ``[0, a_stop)`` of person A, then ``[b_start, b_stop)`` of person B, at A's frame size.

    ``variant``: "cut" (B's frames as they are, resized to A's size), "aligned" (B moved and scaled
    so that B's face sits where A's was at the switch), "gap" (aligned, after 0.5 s of no face, as
    when one person steps out and the other in).
    """
    if variant not in ("cut", "aligned", "gap"):
        raise ValueError(f"unknown person_switch variant {variant}")
    h, w = a.frames[0].pixels.shape[:2]
    frames: list[Frame] = []
    analyses: list[FrameAnalysis] = []
    step = 1000.0 / a.fps
    for i in range(a_stop):
        frames.append(Frame(a.frames[i].pixels, t_ms=len(frames) * step, index=len(frames)))
        analyses.append(_moved(a.analyses[i], np.eye(2, 3), len(analyses), frames[-1].t_ms, w, h))
    bh, bw = b.frames[0].pixels.shape[:2]
    fit = (
        np.array([[w / bw, 0, 0], [0, h / bh, 0]])
        if variant == "cut"
        else _align(a, a_stop, b, b_start, w, h)
    )
    if variant == "gap":
        empty = backdrop(a.frames[a_stop - 1].pixels, rng)
        for _ in range(int(0.5 * a.fps)):
            frames.append(Frame(empty, t_ms=len(frames) * step, index=len(frames)))
            analyses.append(FrameAnalysis(len(analyses), frames[-1].t_ms, w, h, ()))
    for i in range(b_start, b_stop):
        pixels = cv2.warpAffine(b.frames[i].pixels, fit, (w, h), borderMode=cv2.BORDER_REPLICATE)
        frames.append(Frame(pixels, t_ms=len(frames) * step, index=len(frames)))
        analyses.append(_moved(b.analyses[i], fit, len(analyses), frames[-1].t_ms, w, h))
    return AttackClip(
        name=f"person_switch/{a.name}->{b.name}/{variant}",
        attack_type="person_switch",
        source=f"{a.name}+{b.name}",
        frames=frames,
        analyses=analyses,
        notes=f"switch of person after the first step ({variant})",
    )


def _align(a: Source, a_stop: int, b: Source, b_start: int, w: int, h: int) -> np.ndarray:
    fa = next((a.analyses[i].primary for i in range(a_stop - 1, -1, -1) if a.analyses[i].primary), None)
    fb = next((b.analyses[i].primary for i in range(b_start, len(b.analyses)) if b.analyses[i].primary), None)
    if fa is None or fb is None:
        bh, bw = b.frames[0].pixels.shape[:2]
        return np.array([[w / bw, 0, 0], [0, h / bh, 0]])
    s = fa.box.w / fb.box.w
    return np.array([[s, 0, fa.box.cx - s * fb.box.cx], [0, s, fa.box.cy - s * fb.box.cy]])


def injected_repeat(src: Source, start: int, stop: int, rng: np.random.Generator) -> AttackClip:
    """Each frame sent twice (a 30 fps recording passed off as 60 fps), or runs of 2-4 repeats."""
    step = 1000.0 / src.fps / 2
    frames, analyses = [], []
    for i in range(start, stop):
        repeats = 2 if rng.random() < 0.7 else int(rng.integers(1, 4))
        for _ in range(repeats):
            t = len(frames) * step
            frames.append(Frame(src.frames[i].pixels, t_ms=t, index=len(frames)))
            analyses.append(
                _moved(src.analyses[i], np.eye(2, 3), len(analyses), t, *src.frames[i].pixels.shape[1::-1])
            )
    return AttackClip(
        name=f"injected_repeat/{src.name}@{start}",
        attack_type="injected_repeat",
        source=src.name,
        frames=frames,
        analyses=analyses,
        notes="frames repeated with fresh timestamps",
    )


def injected_reorder(src: Source, start: int, stop: int, rng: np.random.Generator) -> AttackClip:
    """Blocks of 4-12 frames swapped with their neighbours (an edited recording), fresh timestamps."""
    idx = list(range(start, stop))
    blocks, k = [], 0
    while k < len(idx):
        n = int(rng.integers(4, 13))
        blocks.append(idx[k : k + n])
        k += n
    for j in range(0, len(blocks) - 1, 2):
        if rng.random() < 0.5:
            blocks[j], blocks[j + 1] = blocks[j + 1], blocks[j]
    order = [i for blk in blocks for i in blk]
    step = 1000.0 / src.fps
    frames = [Frame(src.frames[i].pixels, t_ms=k * step, index=k) for k, i in enumerate(order)]
    h, w = src.frames[start].pixels.shape[:2]
    analyses = [_moved(src.analyses[i], np.eye(2, 3), k, k * step, w, h) for k, i in enumerate(order)]
    return AttackClip(
        name=f"injected_reorder/{src.name}@{start}",
        attack_type="injected_reorder",
        source=src.name,
        frames=frames,
        analyses=analyses,
        notes="blocks of frames swapped",
    )


def injected_clock(src: Source, start: int, stop: int, rng: np.random.Generator) -> AttackClip:
    """A recording pushed into a live session faster than real time (1.5-3x), with network jitter."""
    speed = float(rng.uniform(1.5, 3.0))
    t0 = src.frames[start].t_ms
    frames, analyses, arrival = [], [], []
    h, w = src.frames[start].pixels.shape[:2]
    for k, i in enumerate(range(start, stop)):
        t = src.frames[i].t_ms - t0
        frames.append(Frame(src.frames[i].pixels, t_ms=t, index=k))
        analyses.append(_moved(src.analyses[i], np.eye(2, 3), k, t, w, h))
        arrival.append(t / speed + float(rng.uniform(0, 40)))
    arrival = list(np.maximum.accumulate(arrival))
    return AttackClip(
        name=f"injected_clock/{src.name}@{start}",
        attack_type="injected_clock",
        source=src.name,
        frames=frames,
        analyses=analyses,
        streaming=True,
        arrival_ms=arrival,
        notes=f"pushed {speed:.1f}x faster than real time",
    )
