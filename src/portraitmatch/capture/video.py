"""Video clips (a recorded liveness capture) → `Frame`s with presentation timestamps.

* Decoding is OpenCV's FFmpeg backend, with the container's rotation applied
  (``CAP_PROP_ORIENTATION_AUTO``, OpenCV ≥ 4.5; checked on OpenCV 5 against FFmpeg's own
  autorotate), so a phone clip recorded upright comes out upright.
* ``Frame.t_ms`` is the decoder's presentation time (``CAP_PROP_POS_MSEC`` after each read), so
  variable-rate clips keep their real timing. Where the decoder gives nothing useful (0 after the
  first frame, or going backwards) the nominal ``index / fps`` is used instead, and times are made
  strictly increasing, because the liveness checker divides by time differences.
* Frames above ``max_frame_pixels`` are shrunk (aspect kept) so one huge clip cannot slow every
  later stage.
* Limits: a clip whose container already says it is longer than ``max_seconds`` or has more than
  ``max_frames`` frames is refused before decoding; one whose metadata understated it is refused
  (`MediaTooLargeError`) as soon as decoding passes the limit. We refuse rather than cut the clip
  short, because a liveness verdict on part of a recording would not be the verdict on what was
  sent.
* Clips given as bytes are decoded from an anonymous in-memory file (Linux ``memfd_create``,
  opened through ``/proc/self/fd``): raw biometric video is never written to disk, not even to a
  temporary file.

`read_video` checks its arguments and obviously wrong input at once; the clip is opened when the
first frame is requested, and closed when the iterator is exhausted or closed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from portraitmatch.capture._sniff import describe, sniff_image_format, sniff_video_container
from portraitmatch.errors import ConfigurationError, MediaTooLargeError, UnreadableMediaError
from portraitmatch.types import Frame

VideoSource = Path | str | bytes | bytearray | memoryview

_FALLBACK_FPS = 30.0
# Image types FFmpeg can also read as a stream (MJPEG, animated GIF) are let through to the decoder.
_STREAMABLE_IMAGES = ("JPEG", "GIF")


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about a clip, with the first frame's decoded size.

    ``width_px``/``height_px`` are as decoded, rotation applied. ``fps``, ``frame_count`` and
    ``duration_s`` are the container's nominal values, 0 where it does not say (common for WebM
    from browsers). ``rotation_deg`` is the container's rotation metadata (already applied).
    """

    width_px: int
    height_px: int
    fps: float
    frame_count: int
    duration_s: float
    rotation_deg: int


def probe_video(source: VideoSource) -> VideoInfo:
    """Open a clip, read its container metadata and decode its first frame.

    Raises `UnreadableMediaError` if it cannot be opened or has no decodable frame.
    """
    _check_head(_head(source))
    with _capture(source) as cap:
        ok, first = cap.read()
        if not ok or first is None:
            raise UnreadableMediaError("the video has no decodable frames")
        fps, count = _nominal_fps(cap), _nominal_count(cap)
        return VideoInfo(
            width_px=int(first.shape[1]),
            height_px=int(first.shape[0]),
            fps=fps,
            frame_count=count,
            duration_s=count / fps if fps > 0 and count > 0 else 0.0,
            rotation_deg=round(_prop(cap, cv2.CAP_PROP_ORIENTATION_META)) % 360,
        )


def read_video(
    source: VideoSource,
    *,
    max_seconds: float,
    max_frames: int,
    max_frame_pixels: int,
    mirrored: bool = False,
    max_bytes: int | None = None,
) -> Iterator[Frame]:
    """Decode a clip (file path or encoded bytes) into RGB `Frame`s, in order.

    ``index`` counts decoded frames from 0; ``t_ms`` is the presentation time, strictly
    increasing; ``mirrored`` is copied onto every frame (pixels are not flipped: the liveness
    checker interprets directions). Raises `MediaTooLargeError` over ``max_bytes``,
    ``max_seconds`` or ``max_frames`` and `UnreadableMediaError` for anything that is not a
    decodable video; a clip with no decodable frame raises when iteration starts.
    """
    if max_seconds <= 0 or max_frames <= 0 or max_frame_pixels <= 0:
        raise ValueError("max_seconds, max_frames and max_frame_pixels must be positive")
    if max_bytes is not None:
        size = len(source) if isinstance(source, bytes | bytearray | memoryview) else _file_size(source)
        if size > max_bytes:
            raise MediaTooLargeError(f"the video is {size:,} bytes, above the limit of {max_bytes:,}")
    _check_head(_head(source))
    return _frames(source, max_seconds, max_frames, max_frame_pixels, mirrored)


def _frames(
    source: VideoSource, max_seconds: float, max_frames: int, max_frame_pixels: int, mirrored: bool
) -> Iterator[Frame]:
    with _capture(source) as cap:
        fps = _nominal_fps(cap)
        count = _nominal_count(cap)
        step_ms = 1000.0 / (fps if fps > 0 else _FALLBACK_FPS)
        if count > max_frames:
            raise MediaTooLargeError(f"the video has {count:,} frames, above the limit of {max_frames:,}")
        if fps > 0 and count > 0 and (count - 1) / fps >= max_seconds:
            raise MediaTooLargeError(
                f"the video lasts {count / fps:.1f} s, above the limit of {max_seconds:g} s"
            )
        index, last_ms = 0, -math.inf
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            t_ms = _presentation_ms(cap, index, step_ms, last_ms)
            if index >= max_frames:
                raise MediaTooLargeError(f"the video has more than {max_frames:,} frames")
            if t_ms >= max_seconds * 1000.0:
                raise MediaTooLargeError(f"the video lasts longer than the limit of {max_seconds:g} s")
            yield Frame(pixels=_to_rgb(bgr, max_frame_pixels), t_ms=t_ms, index=index, mirrored=mirrored)
            last_ms = t_ms
            index += 1
        if index == 0:
            raise UnreadableMediaError(
                "the video has no decodable frames (empty, truncated or an unsupported codec)"
            )


def _presentation_ms(cap: cv2.VideoCapture, index: int, step_ms: float, last_ms: float) -> float:
    pos = _prop(cap, cv2.CAP_PROP_POS_MSEC)
    usable = math.isfinite(pos) and pos >= 0 and (pos > 0 or index == 0)
    t_ms = pos if usable else index * step_ms
    if t_ms <= last_ms:
        # Backwards or repeated timestamps (broken muxers, B-frame bugs): fall back to the nominal
        # time, and never stand still.
        t_ms = max(index * step_ms, last_ms + step_ms)
    return float(t_ms)


def _to_rgb(bgr: np.ndarray, max_pixels: int) -> np.ndarray:
    if bgr.ndim == 2:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    elif bgr.shape[2] == 4:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb.dtype != np.uint8:
        rgb = (
            cv2.convertScaleAbs(rgb, alpha=255.0 / 65535.0)
            if rgb.dtype == np.uint16
            else rgb.astype(np.uint8)
        )
    h, w = rgb.shape[:2]
    if h * w > max_pixels:
        scale = math.sqrt(max_pixels / (h * w))
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


@contextmanager
def _capture(source: VideoSource) -> Iterator[cv2.VideoCapture]:
    if isinstance(source, bytes | bytearray | memoryview):
        with _memory_file(bytes(source)) as path, _opened(path) as cap:
            yield cap
    else:
        path = Path(source)
        if not path.is_file():
            raise UnreadableMediaError(f"no such video file: {path}")
        with _opened(str(path)) as cap:
            yield cap


@contextmanager
def _opened(path: str) -> Iterator[cv2.VideoCapture]:
    # CAP_FFMPEG explicitly: the default may pick CAP_IMAGES, which treats "%d" in a name as a
    # pattern and reads other files.
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise UnreadableMediaError(
                "the data could not be opened as a video (corrupt or an unsupported container)"
            )
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        yield cap
    finally:
        cap.release()


@contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is None:
        raise ConfigurationError(
            "decoding a video from memory needs Linux (os.memfd_create); pass a file path instead"
        )
    fd = memfd_create("portraitmatch-clip", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        path = f"/proc/self/fd/{fd}"
        if not os.path.exists(path):
            raise ConfigurationError(
                "decoding a video from memory needs /proc mounted; pass a file path instead"
            )
        yield path
    finally:
        os.close(fd)


def _head(source: VideoSource) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:512])
    path = Path(source)
    try:
        with path.open("rb") as f:
            return f.read(512)
    except FileNotFoundError as exc:
        raise UnreadableMediaError(f"no such video file: {path}") from exc
    except IsADirectoryError as exc:
        raise UnreadableMediaError(f"{path} is a directory, not a video file") from exc
    except PermissionError as exc:
        raise UnreadableMediaError(f"cannot read {path}: permission denied") from exc


def _check_head(head: bytes) -> None:
    if not head:
        raise UnreadableMediaError("the video is empty (0 bytes)")
    if sniff_video_container(head) is not None or sniff_image_format(head) in _STREAMABLE_IMAGES:
        return
    what = describe(head)
    if what != "binary data of an unknown type":
        raise UnreadableMediaError(f"not a video: the data looks like {what}")


def _file_size(source: Path | str) -> int:
    try:
        return Path(source).stat().st_size
    except FileNotFoundError as exc:
        raise UnreadableMediaError(f"no such video file: {source}") from exc


def _prop(cap: cv2.VideoCapture, prop: int) -> float:
    value = float(cap.get(prop))
    return value if math.isfinite(value) else 0.0


def _nominal_fps(cap: cv2.VideoCapture) -> float:
    fps = _prop(cap, cv2.CAP_PROP_FPS)
    # Containers without a rate report 0 or nonsense such as 90000 (the time base).
    return fps if 1.0 <= fps <= 480.0 else 0.0


def _nominal_count(cap: cv2.VideoCapture) -> int:
    count = _prop(cap, cv2.CAP_PROP_FRAME_COUNT)
    return int(count) if count > 0 else 0
