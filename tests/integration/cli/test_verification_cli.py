"""compare / liveness / verify through the real CLI process: exit codes, JSON schema, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

CLI = [sys.executable, "-m", "portraitmatch"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def lines(done: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(x) for x in done.stdout.splitlines() if x.strip()]


@pytest.fixture(scope="module")
def d12(dev_data: Path) -> Path:
    return dev_data / "liveness/liveportrait/driving/d12.mp4"


@pytest.fixture(scope="module")
def id_chip(d12: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ID-card-like chip photo: an early frame, cropped, 102x126, JPEG quality 40."""
    cap = cv2.VideoCapture(str(d12))
    ok, frame = cap.read()
    cap.release()
    assert ok
    h, w = frame.shape[:2]
    chip = cv2.resize(frame[int(h * 0.08) : int(h * 0.92), int(w * 0.16) : int(w * 0.84)], (102, 126))
    path = tmp_path_factory.mktemp("chip") / "id_chip.jpg"
    cv2.imwrite(str(path), chip, [cv2.IMWRITE_JPEG_QUALITY, 40])
    return path


def test_verify_passes_a_bona_fide_capture_with_the_documented_schema(d12: Path, id_chip: Path) -> None:
    done = run(
        "verify", "--id-photo", id_chip, "--video", d12, "--challenge", "turn_left,blink,turn_right", "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = lines(done)[0]
    assert out["decision"] == "pass"
    assert out["liveness"]["passed"] is True
    assert [s["action"] for s in out["liveness"]["steps"]] == ["turn_left", "blink", "turn_right"]
    assert all(s["ok"] and s["t_start"] <= s["t_end"] for s in out["liveness"]["steps"])
    assert out["match"]["match"] is True and out["match"]["score"] >= out["match"]["threshold"]
    assert out["match"]["frames_used"]
    assert {"total", "analysis", "match"} <= set(out["timings_ms"])


def test_verify_does_not_pass_a_challenge_the_recording_lacks(d12: Path, id_chip: Path) -> None:
    # d12 never looks up: the challenge is not met, and an unproven capture is never compared.
    done = run("verify", "--id-photo", id_chip, "--video", d12, "--challenge", "blink,look_up", "--json")
    out = lines(done)[0]
    assert done.returncode == 1, done.stdout + done.stderr
    assert out["decision"] in {"fail", "retry"}
    assert out["match"] is None


def test_liveness_batch_analyses_once_and_prints_one_line_per_challenge(d12: Path, tmp_path: Path) -> None:
    challenges = tmp_path / "challenges.txt"
    challenges.write_text("# fits the clip\nturn_left,blink,turn_right\n\nblink,blink\nlook_up\n")
    done = run("liveness", d12, "--challenges", challenges)
    assert done.returncode == 0, done.stderr
    out = lines(done)
    assert [o["challenge"] for o in out] == ["turn_left,blink,turn_right", "blink,blink", "look_up"]
    assert out[0]["passed"] is True and out[0]["decision"] == "pass"
    assert out[2]["passed"] is False
    assert all(set(o) == {"challenge", "passed", "decision", "reasons"} for o in out)


def test_compare_same_and_different_people(dev_data: Path) -> None:
    johns = dev_data / "verification/dlib_johns"
    pairs = [r.split(",") for r in (johns / "pairs.csv").read_text().splitlines()[1:]]
    same = next(p for p in pairs if p[2] == "1")
    diff = next(p for p in pairs if p[2] == "0")
    done = run("compare", johns / same[0], johns / same[1], "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done)[0]["match"] is True
    done = run("compare", johns / diff[0], johns / diff[1], "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines(done)[0]["match"] is False


def test_compare_batch_reports_unusable_sides_and_goes_on(dev_data: Path, tmp_path: Path) -> None:
    johns = dev_data / "verification/dlib_johns"
    rows = (johns / "pairs.csv").read_text().splitlines()[1:3]
    (tmp_path / "notes.jpg").write_text("this is not an image")
    csv = tmp_path / "pairs.csv"
    first = rows[0].split(",")[0]
    csv.write_text(
        "a,b,extra\n" + "\n".join(",".join(r.split(",")[:2]) + ",x" for r in rows) + f"\n{first},bad\n"
    )
    done = run("compare", "--pairs", csv, "--root", johns)
    assert done.returncode == 0, done.stderr
    out = lines(done)
    assert len(out) == 3
    assert all(isinstance(o["score"], float) for o in out[:2])
    assert out[2]["score"] is None and out[2]["error"]["side"] == "b"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"hello, I am text", "UNREADABLE_MEDIA"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "UNREADABLE_MEDIA"),
    ],
    ids=["text-named-jpg", "truncated-jpeg"],
)
def test_compare_bad_input_is_exit_2_with_a_json_error(tmp_path: Path, content: bytes, code: str) -> None:
    bad = tmp_path / "id.jpg"
    bad.write_bytes(content)
    done = run("compare", bad, bad, "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    err = lines(done)[0]["error"]
    assert err["code"] == code and err["message"]
    assert "Traceback" not in done.stderr


def test_liveness_on_a_file_that_is_no_video_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00" * 4096)
    done = run("liveness", bad, "--challenge", "blink", "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error" in lines(done)[0]
    assert "Traceback" not in done.stderr


def test_unknown_action_is_a_usage_error() -> None:
    done = run("liveness", "missing.mp4", "--challenge", "wave", "--json")
    assert done.returncode == 2
    assert lines(done)[0]["error"]["code"] == "INVALID_CHALLENGE"
