"""MediaPipeLandmarker on the dev liveness clips and photos: directions, blinks, faces, threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.adapters.models.mediapipe_landmarker import MediaPipeLandmarker
from portraitmatch.analysis.geometry import EYE_POINTS
from portraitmatch.capture.video import read_video
from portraitmatch.errors import ModelError
from portraitmatch.types import FaceObservation, Frame, Reason

pytestmark = pytest.mark.data

VIDEO_LIMITS = {"max_seconds": 60.0, "max_frames": 1800, "max_frame_pixels": 4_000_000}
# Bona fide dev clips whose labelled turns / blinks are checked: (folder, clip file).
TURN_CLIPS = [
    ("tranvanluyt", "videos/real.mp4"),
    ("liveportrait", "driving/d3.mp4"),
    ("liveportrait", "driving/d12.mp4"),
]
BLINK_CLIPS = [*TURN_CLIPS, ("liveportrait", "driving/d0.mp4"), ("liveportrait", "driving/d10.mp4")]
BLINK_CONTEXT = (-15, -12, -9, 9, 12, 15)  # frames around a blink used as the "eyes open" reference


@pytest.fixture(scope="module")
def landmarker() -> Iterator[MediaPipeLandmarker]:
    lm = MediaPipeLandmarker.load()
    yield lm
    lm.close()


def _labels(dev_data: Path, folder: str, file: str) -> dict:
    labels = json.loads((dev_data / "liveness" / folder / "labels.json").read_text())
    return next(v for v in labels["videos"] if v["file"] == file)


def _frames(dev_data: Path, folder: str, file: str, wanted: set[int]) -> dict[int, Frame]:
    out = {}
    for frame in read_video(dev_data / "liveness" / folder / file, **VIDEO_LIMITS):
        if frame.index in wanted:
            out[frame.index] = frame
        if frame.index >= max(wanted):
            break
    return out


def _primary(landmarker: MediaPipeLandmarker, frame: Frame) -> FaceObservation:
    analysis = landmarker.observe(frame)
    assert analysis.primary is not None, f"no face in frame {frame.index}"
    return analysis.primary


@pytest.mark.parametrize(("folder", "file"), TURN_CLIPS)
def test_turns_point_the_labelled_way(
    dev_data: Path, landmarker: MediaPipeLandmarker, folder: str, file: str
) -> None:
    video = _labels(dev_data, folder, file)
    turns = [e for e in video["events"] if e["type"].startswith(("yaw_", "pitch_")) and not e["uncertain"]]
    assert turns, f"{file} should have labelled turns"
    frames = _frames(dev_data, folder, file, {e["frame_peak"] for e in turns})
    for event in turns:
        face = _primary(landmarker, frames[event["frame_peak"]])
        yaw = face.yaw_deg - video["neutral_yaw_deg"]
        pitch = face.pitch_deg - video["neutral_pitch_deg"]
        expected = {
            "yaw_image_right": yaw,
            "yaw_image_left": -yaw,
            "pitch_up": pitch,
            "pitch_down": -pitch,
        }[event["type"]]
        assert expected > 10, (
            f"{file} frame {event['frame_peak']} {event['type']}: yaw {yaw:.1f}, pitch {pitch:.1f}"
        )
        # Same model, same frame: the angle matches the label's raw peak within a few degrees
        # (the labels used another Euler decomposition, equal for pure turns).
        raw = face.yaw_deg if event["type"].startswith("yaw_") else face.pitch_deg
        assert raw == pytest.approx(event["peak_raw_deg"], abs=3.0)


@pytest.mark.parametrize(("folder", "file"), BLINK_CLIPS)
def test_eye_aspect_ratio_dips_at_labelled_blinks(
    dev_data: Path, landmarker: MediaPipeLandmarker, folder: str, file: str
) -> None:
    video = _labels(dev_data, folder, file)
    blinks = [e["frame"] for e in video["events"] if e["type"] == "blink" and not e["uncertain"]]
    assert blinks, f"{file} should have labelled blinks"
    wanted = {b + d for b in blinks for d in (0, *BLINK_CONTEXT)} - {-1}
    frames = _frames(dev_data, folder, file, {i for i in wanted if 0 <= i < video["n_frames"]})
    for blink in blinks:
        closed = _primary(landmarker, frames[blink])
        open_ears = [
            _primary(landmarker, frames[blink + d]).eye_openness for d in BLINK_CONTEXT if blink + d in frames
        ]
        assert closed.eye_openness < 0.5 * float(np.median(open_ears)), f"{file} blink at frame {blink}"
        assert (closed.blink_left + closed.blink_right) / 2 > 0.4, f"{file} blink at frame {blink}"


def test_winks_are_reported_on_the_labelled_side(dev_data: Path, landmarker: MediaPipeLandmarker) -> None:
    video = _labels(dev_data, "liveportrait", "driving/d3.mp4")
    winks = [e for e in video["events"] if e["type"] == "wink"]
    assert winks, "d3.mp4 is labelled with two winks"
    frames = _frames(dev_data, "liveportrait", "driving/d3.mp4", {e["frame"] for e in winks})
    for wink in winks:
        face = _primary(landmarker, frames[wink["frame"]])
        if wink["eye"] == "image_left":
            assert face.ear_left < face.ear_right and face.blink_left > face.blink_right
        else:
            assert face.ear_right < face.ear_left and face.blink_right > face.blink_left


def test_values_match_the_dev_traces(dev_data: Path, landmarker: MediaPipeLandmarker) -> None:
    trace = (dev_data / "liveness" / "liveportrait" / "traces" / "d12.csv").read_text().splitlines()[1:]
    rows = {int(r.split(",")[0]): r.split(",") for r in trace}
    frames = _frames(dev_data, "liveportrait", "driving/d12.mp4", set(range(0, 180, 20)))
    for index, frame in frames.items():
        face = _primary(landmarker, frame)
        _, t, ear_left, ear_right, yaw, pitch, _ = rows[index]
        assert frame.t_ms == pytest.approx(float(t) * 1000, abs=0.1)
        assert face.ear_left == pytest.approx(float(ear_left), abs=2e-3)
        assert face.ear_right == pytest.approx(float(ear_right), abs=2e-3)
        assert face.yaw_deg == pytest.approx(float(yaw), abs=2.0)
        assert face.pitch_deg == pytest.approx(float(pitch), abs=2.0)


def test_mirroring_the_pixels_mirrors_the_observation(
    dev_data: Path, landmarker: MediaPipeLandmarker
) -> None:
    video = _labels(dev_data, "tranvanluyt", "videos/real.mp4")
    peak = next(e["frame_peak"] for e in video["events"] if e["type"] == "yaw_image_right")
    frame = _frames(dev_data, "tranvanluyt", "videos/real.mp4", {peak})[peak]
    face = _primary(landmarker, frame)
    flipped = _primary(landmarker, Frame(np.ascontiguousarray(frame.pixels[:, ::-1]), mirrored=True))
    # observe reports image terms, whatever `mirrored` says
    assert face.yaw_deg > 20 and flipped.yaw_deg < -20
    # Turned 45 degrees, the near eye looks wider; after the flip it is on the other side.
    assert face.ear_right > face.ear_left and flipped.ear_left > flipped.ear_right
    assert flipped.box.cx == pytest.approx(frame.width_px - face.box.cx, abs=6)


def test_roll_sign_follows_the_eye_line(dev_data: Path, landmarker: MediaPipeLandmarker) -> None:
    frame = _frames(dev_data, "tranvanluyt", "videos/real.mp4", {0})[0]
    for angle in (-15, 15):  # rotate the frame counter-clockwise (positive) and clockwise
        h, w = frame.height_px, frame.width_px
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rotated = cv2.warpAffine(
            np.ascontiguousarray(frame.pixels), m, (w, h), borderMode=cv2.BORDER_REPLICATE
        )
        face = _primary(landmarker, Frame(rotated))
        left_eye_y = face.landmarks[list(EYE_POINTS[:6]), 1].mean()
        right_eye_y = face.landmarks[list(EYE_POINTS[6:]), 1].mean()
        if angle > 0:
            assert face.roll_deg > 8 and right_eye_y < left_eye_y
        else:
            assert face.roll_deg < -8 and right_eye_y > left_eye_y


def test_every_face_in_a_group_photo_is_reported(dev_data: Path, landmarker: MediaPipeLandmarker) -> None:
    images = dev_data / "verification" / "deepface_tests" / "images"
    for name, at_least in (("selfie-many-people.jpg", 3), ("couple.jpg", 2)):
        rgb = cv2.cvtColor(cv2.imread(str(images / name)), cv2.COLOR_BGR2RGB)
        analysis = landmarker.observe(Frame(rgb))
        assert analysis.n_faces >= at_least, name
        areas = [f.box.area for f in analysis.faces]
        assert areas == sorted(areas, reverse=True)
        assert analysis.primary is analysis.faces[0]
        for face in analysis.faces:
            assert face.landmarks.shape == (478, 3)
            assert not face.landmarks.flags.writeable


def test_bona_fide_frames_are_usable_and_covered_eyes_are_not(
    dev_data: Path, landmarker: MediaPipeLandmarker
) -> None:
    frames = _frames(dev_data, "liveportrait", "driving/d10.mp4", {0, 100, 200})
    for frame in frames.values():
        face = _primary(landmarker, frame)
        assert face.quality.is_usable, face.quality
        covered = frame.pixels.copy()
        eyes = face.landmarks[list(EYE_POINTS), :2]
        (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
        pad = int((y1 - y0) * 0.8) + 5
        skin = frame.pixels[int(face.landmarks[1, 1]), int(face.landmarks[1, 0])]  # nose tip colour
        covered[int(y0) - pad : int(y1) + pad, int(x0) - pad // 2 : int(x1) + pad // 2] = skin
        hidden = landmarker.observe(Frame(covered)).primary
        assert hidden is not None
        assert Reason.EYES_NOT_VISIBLE in hidden.quality.reasons


def test_no_face_in_an_empty_frame(landmarker: MediaPipeLandmarker) -> None:
    analysis = landmarker.observe(Frame(np.full((480, 640, 3), 127, np.uint8), t_ms=40.0, index=1))
    assert analysis.faces == () and analysis.primary is None
    assert (analysis.index, analysis.t_ms, analysis.width_px, analysis.height_px) == (1, 40.0, 640, 480)


def test_small_face_in_a_large_frame_is_found_by_the_centre_retry(
    dev_data: Path, landmarker: MediaPipeLandmarker
) -> None:
    face_frame = _frames(dev_data, "liveportrait", "driving/d10.mp4", {0})[0]
    small = cv2.resize(face_frame.pixels, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    canvas = np.full((1080, 1920, 3), 120, np.uint8)
    y0, x0 = (1080 - small.shape[0]) // 2, (1920 - small.shape[1]) // 2
    canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    face = _primary(landmarker, Frame(canvas))
    assert face.quality.face_px > 80
    assert face.box.cx == pytest.approx(960, abs=40)  # reported in full-frame coordinates
    assert Reason.FACE_TOO_SMALL not in face.quality.reasons


def test_concurrent_calls_give_the_same_results(dev_data: Path, landmarker: MediaPipeLandmarker) -> None:
    frames = list(_frames(dev_data, "liveportrait", "driving/d12.mp4", set(range(0, 60, 6))).values())
    expected = [landmarker.observe(f).primary for f in frames]
    results: dict[int, list[FaceObservation | None]] = {}

    def work(k: int) -> None:
        results[k] = [landmarker.observe(f).primary for f in frames]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        for a, b in zip(got, expected, strict=True):
            assert a is not None and b is not None
            assert np.allclose(a.landmarks, b.landmarks, atol=1e-3)
            assert a.yaw_deg == pytest.approx(b.yaw_deg, abs=1e-3)


def test_pool_of_two_and_closing() -> None:
    lm = MediaPipeLandmarker.load(max_faces=1, pool_size=2)
    assert lm.pool_size == 2 and lm.max_faces == 1 and lm.load_ms > 0
    lm.observe(Frame(np.zeros((64, 64, 3), np.uint8)))
    lm.close()
    lm.close()  # closing twice is harmless
    with pytest.raises(ModelError, match="closed"):
        lm.observe(Frame(np.zeros((64, 64, 3), np.uint8)))


def test_a_dropped_landmarker_is_not_closed_inside_another_mediapipe_call() -> None:
    """The collector may finalise a dropped landmarker while this thread is inside a MediaPipe
    call that holds concurrent.futures' global lock; closing inline there deadlocked the suite.
    The finalizer must return at once and close the tasks on another thread."""
    from concurrent.futures import thread as futures_thread

    dropped = MediaPipeLandmarker.load()
    finalizer, owned = dropped._finalizer, dropped._owned
    returned = threading.Event()

    def collect_while_locked() -> None:
        with futures_thread._global_shutdown_lock:  # as inside ThreadPoolExecutor.submit
            finalizer()
            returned.set()

    worker = threading.Thread(target=collect_while_locked, daemon=True)
    worker.start()
    assert returned.wait(10), "finalizing a landmarker inside a MediaPipe call deadlocked"
    worker.join(10)
    for closer in [t for t in threading.enumerate() if t.name == "mediapipe-close"]:
        closer.join(10)
    assert owned == []  # every task was closed, after the lock was released
    with pytest.raises(ModelError):
        dropped.observe(Frame(np.zeros((48, 64, 3), np.uint8)))


def test_close_is_immediate_and_idempotent() -> None:
    lm = MediaPipeLandmarker.load()
    owned = lm._owned
    lm.close()
    assert owned == []
    lm.close()
    with pytest.raises(ModelError):
        lm.observe(Frame(np.zeros((48, 64, 3), np.uint8)))
