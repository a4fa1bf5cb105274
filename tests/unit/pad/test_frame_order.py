"""Frame order: blocks of an edited recording moved out of place leave reversals; a take does not."""

from __future__ import annotations

import dataclasses

import numpy as np

from portraitmatch.liveness.pad.continuity import FRAME_ORDER, StreamTest, score_frame_order
from tests.unit.pad.samples import face, measurements

THRESHOLD = 3.0


def _scene(n: int, seed: int = 0) -> list[np.ndarray]:
    """32x24 thumbnails of a bright head moving smoothly left and right (turning points included),
    in front of a textured background, with sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:24, 0:32]
    background = 80 + 20 * rng.standard_normal((24, 32))
    out = []
    for k in range(n):
        x = 16 + 8 * np.sin(2 * np.pi * k / 45)
        y = 12 + 2 * np.sin(2 * np.pi * k / 70)
        head = 120 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.5**2))
        out.append((background + head + rng.normal(0, 0.8, (24, 32))).astype(np.float32))
    return out


def _swap_blocks(n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    idx, blocks, k = list(range(n)), [], 0
    while k < n:
        m = int(rng.integers(4, 13))
        blocks.append(idx[k : k + m])
        k += m
    for j in range(0, len(blocks) - 1, 2):
        if rng.random() < 0.5:
            blocks[j], blocks[j + 1] = blocks[j + 1], blocks[j]
    return [i for b in blocks for i in b]


def _score(thumbs: list[np.ndarray]):  # type: ignore[no-untyped-def]
    test = StreamTest()
    for k, t in enumerate(thumbs):
        m = dataclasses.replace(measurements(digest=bytes([k % 256, k // 256])), thumb=t)
        test.update(k * 33.3, face(320.0, 240), m, None)
    return score_frame_order(test, THRESHOLD)


def test_a_continuous_take_keeps_its_order() -> None:
    frames = _scene(180)
    s = _score(frames)
    assert s.name == FRAME_ORDER and s.is_assessed and not s.fired
    assert s.value is not None and s.value < 0.6 * THRESHOLD  # turning points included
    assert not _score(frames[::2]).fired  # the same take at half the frame rate


def test_swapped_blocks_are_flagged() -> None:
    frames = _scene(180)
    for seed in range(5):
        order = _swap_blocks(len(frames), seed)
        s = _score([frames[i] for i in order])
        assert s.fired, (seed, s.detail)
    order = _swap_blocks(len(frames), 0)
    assert _score([frames[i] for i in order][::2]).fired


def test_one_glitch_and_global_flicker_are_not_a_reorder() -> None:
    frames = _scene(180)
    glitch = list(frames)
    glitch[60] = frames[70]  # one frame out of place (a source glitch): in and out jumps alike
    assert not _score(glitch).fired
    flicker = [f + (12.0 if k % 2 else -12.0) for k, f in enumerate(frames)]
    assert not _score(flicker).fired


def test_too_few_frames_are_not_assessed() -> None:
    assert not _score(_scene(5)).is_assessed
