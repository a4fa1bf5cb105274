"""`portraitmatch bench speed` end to end on a dev clip: every measure is there and plausible, and
the capture it times is decided as the clip deserves (a timing of a failing path would say little)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from portraitmatch.adapters.cli.app import _register, app

pytestmark = pytest.mark.data


def test_bench_speed_writes_every_measure(dev_data: Path, tmp_path: Path) -> None:
    _register()
    out = tmp_path / "speed"
    result = CliRunner().invoke(
        app, ["bench", "speed", "--root", str(dev_data), "--out", str(out), "--repeats", "1"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "speed.json").read_text())
    capture, stream = report["capture_5s_15fps"], report["stream_finish"]
    assert capture["frames"] == 75 and capture["decision"] == "pass"
    assert stream["decision"] == "pass"
    stages = capture["stages_median_ms"]
    overlapped = ("decode", "analysis", "identity", "pad")
    assert {*overlapped, "capture_total", "liveness", "match", "total"} <= set(stages)
    # the overlapped stages add up to more than the wall time they took together
    assert sum(stages[k] for k in overlapped) > stages["capture_total"]
    # a streamed capture's decision waits only for the match, not for the frames' analysis
    assert 0 < stream["finish"]["median_ms"] < capture["total"]["median_ms"]
    assert report["frame_analysis_640x480"]["n"] == 100 and report["peak_rss_mb"] > 100
    assert "decision after the last frame" in (out / "speed.md").read_text()
