"""The checker on the dev clips' per-frame traces (MediaPipe output stored with the dev set).

Fast and model-free; the same checks through the real model are in
tests/integration/test_liveness_clips.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from portraitmatch.bench.liveness import (
    Clip,
    analyses_from_trace,
    bona_fide_challenges,
    check_offline,
    default_labels,
    detect_blinks,
    fits_recording,
    issued_distribution,
    load_clips,
    score_blinks,
)
from portraitmatch.config import LivenessSettings
from portraitmatch.liveness import LivenessChecker
from portraitmatch.types import Action, FrameAnalysis, Outcome, Reason

pytestmark = pytest.mark.data

SETTINGS = LivenessSettings()


@pytest.fixture(scope="module")
def clips(dev_data: Path) -> list[tuple[Clip, list[FrameAnalysis]]]:
    found = load_clips(default_labels(dev_data))
    if not found:
        pytest.skip("no liveness clips in the dev data")
    return [(c, analyses_from_trace(c)) for c in found if c.trace is not None]


def test_every_bona_fide_clip_passes_every_challenge_it_performs(clips) -> None:
    checked, rejected = 0, []
    for clip, analyses in clips:
        if clip.kind != "bona_fide":
            continue
        for challenge in bona_fide_challenges(clip, SETTINGS):
            checked += 1
            result = check_offline(analyses, challenge, SETTINGS)
            if not result.passed:
                rejected.append((clip.name, challenge, result.reasons))
    assert checked >= 30
    assert rejected == []


def test_blinks_match_the_labels(clips) -> None:
    for clip, analyses in clips:
        if clip.kind != "bona_fide":
            continue
        score = score_blinks(clip, detect_blinks(analyses, SETTINGS))
        assert score.missed_s == () and score.false_s == (), clip.name


def test_replays_pass_only_challenges_whose_order_the_recording_contains(clips) -> None:
    every_two = [(a, b) for a, b in itertools.product(Action, repeat=2) if a is not b]
    challenges = [seq for seq, _ in issued_distribution(SETTINGS)] + every_two
    attacks = [(c, a) for c, a in clips if c.kind != "bona_fide"]
    assert attacks
    for clip, analyses in attacks:
        for challenge in challenges:
            result = check_offline(analyses, challenge, SETTINGS)
            if result.passed:
                assert fits_recording(challenge, clip.actions, SETTINGS), (clip.name, challenge)
            elif not fits_recording(challenge, clip.actions, SETTINGS):
                assert result.outcome is Outcome.FAIL or result.reasons[0] in (
                    Reason.CHALLENGE_INCOMPLETE,
                    Reason.NO_RETURN_TO_NEUTRAL,
                )


def test_the_replay_fails_a_challenge_against_its_order(clips) -> None:
    analyses = next(a for c, a in clips if c.name == "tranvanluyt/fake")
    # The recording turns to its own left first; asked to turn right first, it fails at once.
    result = check_offline(analyses, (Action.TURN_RIGHT, Action.TURN_LEFT), SETTINGS)
    assert result.outcome is Outcome.FAIL and result.reasons == (Reason.WRONG_ACTION,)
    assert result.steps[0].t_start_ms is not None and result.steps[0].t_start_ms < 6000


def test_a_photo_on_a_phone_never_passes(clips) -> None:
    analyses = next(a for c, a in clips if c.name == "lestari15/fake")
    for action in Action:
        result = check_offline(analyses, (action,), SETTINGS)
        assert result.outcome is Outcome.RETRY and result.reasons == (Reason.CHALLENGE_INCOMPLETE,)
        assert result.signals["blink_count"] == 0


def test_mirrored_clips_pass_the_same_challenges(clips) -> None:
    for clip, analyses in clips:
        if clip.kind != "bona_fide":
            continue
        mirrored = [
            dataclasses.replace(
                a,
                faces=tuple(
                    dataclasses.replace(f, yaw_deg=-f.yaw_deg, ear_left=f.ear_right, ear_right=f.ear_left)
                    for f in a.faces
                ),
            )
            for a in analyses
        ]
        for challenge in bona_fide_challenges(clip, SETTINGS):
            checker = LivenessChecker(challenge, SETTINGS, mirrored=True, start_ms=mirrored[0].t_ms)
            for a in mirrored:
                checker.feed(a)
            assert checker.finish().passed, (clip.name, challenge)


def test_labelled_turns_are_measured_like_the_labels(clips) -> None:
    clip, analyses = next((c, a) for c, a in clips if c.name == "tranvanluyt/real")
    challenge = (Action.TURN_LEFT, Action.TURN_RIGHT, Action.LOOK_DOWN, Action.LOOK_UP)
    result = check_offline(analyses, challenge, SETTINGS)
    assert result.passed
    labelled = [a for a in clip.actions if a.action is not Action.BLINK]
    for step, label in zip(result.steps, labelled, strict=True):
        assert step.action is label.action
        assert step.peak == pytest.approx(label.peak_deg, abs=3.0)
        # Done once the head is clearly on its way back: for the two-humped right turn (7.4-10.5 s)
        # that is after the first hump.
        assert label.t_start_s - 0.3 <= step.t_start_ms / 1000 < step.t_end_ms / 1000 <= label.t_end_s + 0.1
    assert result.signals["neutral_yaw_deg"] == pytest.approx(1.0, abs=2.0)
