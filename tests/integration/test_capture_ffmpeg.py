"""Container rotation and variable frame rate, on clips made with the ffmpeg command-line tool.

ffmpeg (Debian package `ffmpeg`) is only needed to *make* these clips; the tests skip without it.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.capture.video import probe_video, read_video

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(
    FFMPEG is None, reason="ffmpeg command-line tool not installed (apt-get install ffmpeg)"
)
LIMITS = {"max_seconds": 60.0, "max_frames": 1800, "max_frame_pixels": 4_000_000}


def _ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


def _pattern_clip(path: Path, n: int = 10, fps: int = 10) -> np.ndarray:
    """An MJPG clip, 96 wide x 64 tall, with a bright block in the top-left corner; returns frame 0."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (96, 64))
    first = None
    for i in range(n):
        bgr = np.full((64, 96, 3), 40, np.uint8)
        bgr[:20, :30] = (0, 220, 0)
        bgr[50:, 80:] = (0, 0, 8 * i)
        writer.write(bgr)
        first = bgr if first is None else first
    writer.release()
    assert first is not None
    return cv2.cvtColor(first, cv2.COLOR_BGR2RGB)


def _ffmpeg_first_frame(path: Path, out: Path) -> np.ndarray:
    """Frame 0 as FFmpeg's own player logic shows it (autorotate on)."""
    _ffmpeg("-i", str(path), "-frames:v", "1", str(out))
    return cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)


def test_rotation_metadata_is_applied_like_ffmpeg_does(tmp_path: Path) -> None:
    plain = tmp_path / "plain.avi"
    stored = _pattern_clip(plain)
    rotated = tmp_path / "rotated.mp4"
    _ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))

    info = probe_video(rotated)
    assert info.rotation_deg in (90, 270)
    assert (info.width_px, info.height_px) == (64, 96)

    frames = list(read_video(rotated, **LIMITS))
    assert len(frames) == 10
    assert all(f.pixels.shape == (96, 64, 3) for f in frames)
    shown = _ffmpeg_first_frame(rotated, tmp_path / "first.png")
    assert np.abs(shown.astype(np.int16) - frames[0].pixels).mean() < 4
    # and it really is a quarter turn of what was stored, not a flip
    turned = [np.rot90(stored, k) for k in (1, 3)]
    assert min(np.abs(t.astype(np.int16) - frames[0].pixels).mean() for t in turned) < 4

    from_bytes = next(iter(read_video(rotated.read_bytes(), **LIMITS)))
    assert np.array_equal(from_bytes.pixels, frames[0].pixels)


def test_variable_frame_rate_keeps_the_real_timestamps(tmp_path: Path) -> None:
    plain = tmp_path / "plain.avi"
    _pattern_clip(plain, n=30, fps=10)
    vfr = tmp_path / "vfr.mkv"
    # Keep frames 0-4 and then every third frame: timestamps 0..400 ms, then 600, 900, ... ms.
    _ffmpeg(
        "-i", str(plain),
        "-vf", "select='lt(n\\,5)+not(mod(n\\,3))'",
        "-fps_mode", "vfr", "-c:v", "ffv1", str(vfr),
    )  # fmt: skip
    times = [f.t_ms for f in read_video(vfr, **LIMITS)]
    kept = sorted({n for n in range(30) if n < 5 or n % 3 == 0})
    assert times == pytest.approx([100.0 * n for n in kept], abs=1.0)
    assert all(b > a for a, b in itertools.pairwise(times))
