"""read_video / probe_video on small real clips written here with cv2.VideoWriter."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.capture.video import probe_video, read_video
from portraitmatch.errors import MediaTooLargeError, UnreadableMediaError

LIMITS = {"max_seconds": 60.0, "max_frames": 1800, "max_frame_pixels": 4_000_000}


def _write_clip(path: Path, n: int = 12, fps: float = 10.0, size: tuple[int, int] = (64, 48)) -> Path:
    """MJPG AVI whose frame i is grey level 20*i with a pure blue square in the top-left corner."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        bgr = np.full((h, w, 3), 20 * i, np.uint8)
        bgr[: h // 3, : w // 3] = (255, 0, 0)  # blue in BGR
        writer.write(bgr)
    writer.release()
    return path


def _memfds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "portraitmatch-clip" in target:
            found.append(target)
    return found


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return _write_clip(tmp_path / "clip.avi")


def test_frames_are_rgb_in_order_with_presentation_times(clip: Path) -> None:
    frames = list(read_video(clip, **LIMITS))
    assert [f.index for f in frames] == list(range(12))
    assert [f.t_ms for f in frames] == pytest.approx([100.0 * i for i in range(12)])
    for i, frame in enumerate(frames):
        assert frame.pixels.shape == (48, 64, 3)
        assert abs(int(frame.pixels[40, 50, 1]) - 20 * i) <= 6
        red, _, blue = frame.pixels[4, 4].astype(int)
        assert blue > 200 and red < 60, "BGR from OpenCV must be turned into RGB"
        assert not frame.mirrored


def test_mirrored_flag_is_carried_and_pixels_are_not_flipped(clip: Path) -> None:
    frame = next(iter(read_video(clip, mirrored=True, **LIMITS)))
    assert frame.mirrored
    assert frame.pixels[4, 4, 2] > 200  # the blue square is still top-left


def test_bytes_are_decoded_in_memory_without_leaking_the_file(clip: Path) -> None:
    data = clip.read_bytes()
    assert _memfds() == []
    frames = read_video(data, **LIMITS)
    first = next(frames)
    assert any("memfd:" in target for target in _memfds()), "bytes must be decoded from a memfd"
    rest = list(frames)
    assert _memfds() == [], "the in-memory file must be closed once the frames are read"
    from_path = list(read_video(clip, **LIMITS))
    assert len(rest) + 1 == len(from_path)
    assert np.array_equal(first.pixels, from_path[0].pixels)
    assert [f.t_ms for f in rest] == [f.t_ms for f in from_path[1:]]


def test_closing_the_iterator_early_releases_the_memory_file(clip: Path) -> None:
    frames = read_video(clip.read_bytes(), **LIMITS)
    next(frames)
    frames.close()
    assert _memfds() == []


def test_large_frames_are_shrunk_keeping_the_aspect(tmp_path: Path) -> None:
    path = _write_clip(tmp_path / "big.avi", n=3, size=(640, 480))
    frames = list(read_video(path, max_seconds=60, max_frames=100, max_frame_pixels=320 * 240))
    assert all(f.pixels.shape == (240, 320, 3) for f in frames)


def test_probe_reports_container_metadata(clip: Path) -> None:
    for source in (clip, clip.read_bytes()):
        info = probe_video(source)
        assert (info.width_px, info.height_px) == (64, 48)
        assert info.fps == pytest.approx(10.0)
        assert info.frame_count == 12
        assert info.duration_s == pytest.approx(1.2)
        assert info.rotation_deg == 0


def test_too_many_frames_or_too_long_is_refused_before_decoding(clip: Path) -> None:
    with pytest.raises(MediaTooLargeError, match="frames"):
        next(iter(read_video(clip, max_seconds=60, max_frames=11, max_frame_pixels=10**6)))
    with pytest.raises(MediaTooLargeError, match="lasts"):
        next(iter(read_video(clip, max_seconds=1.0, max_frames=100, max_frame_pixels=10**6)))
    assert len(list(read_video(clip, max_seconds=1.2, max_frames=12, max_frame_pixels=10**6))) == 12


def test_limits_hold_when_the_container_does_not_say_how_long_it_is() -> None:
    # A raw MJPEG stream (concatenated JPEGs) carries no frame count: the limit trips while decoding.
    data = b"".join(
        cv2.imencode(".jpg", np.full((48, 64, 3), 10 * i, np.uint8))[1].tobytes() for i in range(12)
    )
    assert probe_video(data).frame_count == 0
    assert len(list(read_video(data, **LIMITS))) == 12
    with pytest.raises(MediaTooLargeError, match="more than 5 frames"):
        list(read_video(data, max_seconds=60, max_frames=5, max_frame_pixels=10**6))
    with pytest.raises(MediaTooLargeError, match="longer"):
        list(read_video(data, max_seconds=0.2, max_frames=100, max_frame_pixels=10**6))


def test_byte_limit(clip: Path) -> None:
    size = clip.stat().st_size
    with pytest.raises(MediaTooLargeError, match="bytes"):
        read_video(clip, max_bytes=size - 1, **LIMITS)
    with pytest.raises(MediaTooLargeError, match="bytes"):
        read_video(clip.read_bytes(), max_bytes=size - 1, **LIMITS)


def test_a_clip_with_no_frames_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    writer.release()
    with pytest.raises(UnreadableMediaError, match="no decodable frames"):
        list(read_video(path, **LIMITS))
    with pytest.raises(UnreadableMediaError):
        probe_video(path)


def test_truncated_clip_is_unreadable(clip: Path) -> None:
    with pytest.raises(UnreadableMediaError):
        list(read_video(clip.read_bytes()[:300], **LIMITS))


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"", "empty"),
        (b"frame,t\n0,0.0\n", "text file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"%PDF-1.4\n", "PDF"),
    ],
)
def test_non_videos_are_refused_at_once(data: bytes, looks_like: str) -> None:
    with pytest.raises(UnreadableMediaError, match=looks_like):
        read_video(data, **LIMITS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableMediaError, match="no such video file"):
        read_video(tmp_path / "absent.mp4", **LIMITS)


class _DecoderTimes:
    """Stands in for cv2.VideoCapture.get: replays the POS_MSEC values a broken decoder reports."""

    def __init__(self, times: list[float]) -> None:
        self.times = times
        self.i = -1

    def get(self, prop: int) -> float:
        return self.times[self.i]


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ([0.0, 33.0, 70.0, 100.0], [0.0, 33.0, 70.0, 100.0]),  # variable rate is kept
        ([0.0, 0.0, 0.0, 0.0], [0.0, 40.0, 80.0, 120.0]),  # decoder gives nothing: nominal time
        ([0.0, 40.0, 30.0, 120.0], [0.0, 40.0, 80.0, 120.0]),  # backwards: nominal time
        ([0.0, 40.0, 40.0, 41.0], [0.0, 40.0, 80.0, 120.0]),  # repeated, then behind: kept increasing
        ([float("nan"), 40.0, 80.0, 120.0], [0.0, 40.0, 80.0, 120.0]),
    ],
)
def test_presentation_times_fall_back_and_always_increase(
    reported: list[float], expected: list[float]
) -> None:
    from portraitmatch.capture.video import _presentation_ms

    cap = _DecoderTimes(reported)
    last, got = float("-inf"), []
    for index in range(len(reported)):
        cap.i = index
        last = _presentation_ms(cap, index, 40.0, last)  # type: ignore[arg-type]
        got.append(last)
    assert got == pytest.approx(expected)
