"""capture/ on the dev set's real files: clip timing as labelled, EXIF rotation, a mislabelled WebP."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.capture.image import load_image
from portraitmatch.capture.video import probe_video, read_video
from portraitmatch.config import LimitsSettings

pytestmark = pytest.mark.data
LIMITS = LimitsSettings()


def _clips(dev_data: Path) -> list[tuple[Path, dict]]:
    out = []
    for labels in sorted((dev_data / "liveness").glob("*/labels.json")):
        for video in json.loads(labels.read_text())["videos"]:
            out.append((labels.parent, video))
    return out


def test_every_dev_clip_decodes_with_the_labelled_size_frames_and_times(dev_data: Path) -> None:
    clips = _clips(dev_data)
    assert len(clips) == 10
    for folder, video in clips:
        path = folder / video["file"]
        trace = list(csv.DictReader((folder / video["trace"]).open()))
        n = 0
        for frame, row in zip(
            read_video(
                path,
                max_seconds=LIMITS.max_video_seconds,
                max_frames=LIMITS.max_video_frames,
                max_frame_pixels=LIMITS.max_frame_pixels,
            ),
            trace,
            strict=True,
        ):
            assert frame.index == int(row["frame"])
            assert frame.t_ms == pytest.approx(float(row["t"]) * 1000, abs=0.1)
            assert (frame.width_px, frame.height_px) == (video["frame_width"], video["frame_height"])
            n += 1
        assert n == video["n_frames"], path
        info = probe_video(path)
        assert info.fps == pytest.approx(video["fps"])
        assert info.frame_count == video["n_frames"]


def test_clip_bytes_decode_like_the_file(dev_data: Path) -> None:
    path = dev_data / "liveness" / "liveportrait" / "driving" / "d0.mp4"
    kwargs = {"max_seconds": 60.0, "max_frames": 1800, "max_frame_pixels": 4_000_000}
    from_file = list(read_video(path, **kwargs))
    from_bytes = list(read_video(path.read_bytes(), **kwargs))
    assert len(from_file) == len(from_bytes) == 78
    for a, b in zip(from_file, from_bytes, strict=True):
        assert a.t_ms == b.t_ms
        assert np.array_equal(a.pixels, b.pixels)


def test_exif_rotated_stills_come_out_upright(dev_data: Path) -> None:
    folder = dev_data / "spoof_stills" / "silent_face"
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    assert sum(1 for r in rows if r["exif_orientation"] in ("6", "8")) == 4
    for row in rows:
        frame = load_image(
            folder / row["file"], max_bytes=LIMITS.max_upload_bytes, max_pixels=LIMITS.max_image_pixels
        )
        width, height = (int(v) for v in row["displayed_wxh"].split("x"))
        assert (frame.width_px, frame.height_px) == (width, height), row["file"]
        reference = cv2.cvtColor(cv2.imread(str(folder / row["file"])), cv2.COLOR_BGR2RGB)  # applies EXIF too
        assert np.abs(reference.astype(np.int16) - frame.pixels).mean() < 3, row["file"]


def test_webp_with_a_jpg_name_is_decoded(dev_data: Path) -> None:
    path = dev_data / "verification" / "deepface_tests" / "images" / "img47.jpg"
    assert path.read_bytes()[8:12] == b"WEBP"
    frame = load_image(path, max_bytes=LIMITS.max_upload_bytes, max_pixels=LIMITS.max_image_pixels)
    assert (frame.height_px, frame.width_px) == (1800, 1350)


def test_grayscale_dev_photos_become_three_channels(dev_data: Path) -> None:
    path = next(iter(sorted((dev_data / "verification" / "lfw_east_asian_gray").rglob("*.jpg"))))
    frame = load_image(path, max_bytes=LIMITS.max_upload_bytes, max_pixels=LIMITS.max_image_pixels)
    assert frame.pixels.shape[2] == 3
    assert np.array_equal(frame.pixels[..., 0], frame.pixels[..., 2])
