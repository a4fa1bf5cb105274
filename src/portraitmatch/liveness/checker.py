"""The liveness checker: a state machine that watches frames and decides if the challenge was met.

It calls no model. Per frame it gets the `FrameAnalysis` the engine computed (faces, pose, eye
aspect ratios, quality) and, on sampled frames, an identity vector. One code path serves both
ways of capturing:

* ``offline``: a recorded video checked after the fact. Pauses between actions are natural, so no
  action has its own deadline; the whole challenge must be done within ``action_timeout_s`` per
  action, counted from `start_ms`, and each turn must come back within ``action_timeout_s`` of its
  onset.
* ``streaming``: frames arrive live while the customer sees `Progress.prompt`. Each prompt becomes
  visible only after an unpredictable delay, drawn from a CSPRNG in [``prompt_delay_min_s``,
  ``prompt_delay_max_s``], once the neutral pose is calibrated (first action) or the previous action
  was completed (a turn completes on its way back towards neutral). Until then `Progress.prompt` is
  None and the guidance is "look at the camera". An action that began before its prompt was visible
  does not count (a turn of the expected direction is counted as *anticipated*, an attack cue: it was
  under way before the customer could have seen the prompt), and a clear turn (past
  ``wrong_turn_deg``) begun then fails whichever way it goes, so that the outcome never depends on
  the action still withheld. Each action must be done within
  ``action_timeout_s`` of its prompt becoming visible; `prompts_shown` lists when each was.

Rules, in both modes:

* actions are counted in the issued order; each turn starts from neutral and must come back
  (`pose.TurnTracker`); each blink is a separate closure of both eyes (`blink.BlinkDetector`);
* a *clear* head turn (``wrong_turn_deg``) other than the one expected fails with WRONG_ACTION:
  a fixed recording whose order does not fit the challenge fails rather than waits for a lucky
  sequence. Smaller movements never fail anybody, and blinks are never wrong: people blink all the
  time;
* one face only: several faces for ``multiple_faces_min_s`` out of a second is a retry
  (MULTIPLE_FACES); a face gone for longer than ``face_lost_max_s`` is a retry (FACE_LOST);
* the same face throughout: identity vectors that stop matching the first one fail (FACE_CHANGED).

Events from the detectors carry their own times and are applied in time order. Blinks are known
``confirm_ms`` after the eyes reopen, so turn events wait until the blink detector has settled
their moment; a turn that followed a blink is therefore never judged before that blink.

The challenge's own expiry (`Challenge.is_expired`) is wall-clock time and is the caller's check.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from portraitmatch.config import LivenessSettings
from portraitmatch.errors import InputError
from portraitmatch.liveness.blink import Blink, BlinkDetector, BlinkParams
from portraitmatch.liveness.challenge import parse_challenge
from portraitmatch.liveness.guidance import Guidance, guidance_for_quality, message_for
from portraitmatch.liveness.pose import TURN_ACTIONS, TurnEvent, TurnParams, TurnPhase, TurnTracker
from portraitmatch.liveness.presence import FacePresence, IdentityTracker
from portraitmatch.types import (
    Action,
    Box,
    FaceObservation,
    FrameAnalysis,
    LivenessResult,
    Outcome,
    Reason,
    StepResult,
)

# A capture shorter than this, or with fewer face frames, says nothing either way.
MIN_CAPTURE_MS = 500.0
MIN_FACE_FRAMES = 5


def blink_params(settings: LivenessSettings) -> BlinkParams:
    return BlinkParams(max_closed_ms=settings.blink_max_closed_s * 1000)


def turn_params(settings: LivenessSettings) -> TurnParams:
    return TurnParams(
        turn_deg=settings.turn_deg,
        clear_deg=max(settings.wrong_turn_deg, settings.turn_deg),
        neutral_band_deg=settings.neutral_band_deg,
    )


class Mode(StrEnum):
    OFFLINE = "offline"
    STREAMING = "streaming"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the challenge stands after a frame, and what to tell the customer."""

    step: int  # index of the action being waited for; equals n_steps once all are done
    n_steps: int
    done: bool  # every action was performed
    prompt: Action | None  # the action to ask for now; None while calibrating or once stopped
    guidance: Guidance
    message: str
    fraction: float  # 0..1, for a progress bar
    outcome: Outcome | None = None  # PASS once done; FAIL or RETRY if the checker stopped early
    reasons: tuple[Reason, ...] = ()


@dataclass(slots=True)
class _Step:
    action: Action
    # When the prompt became visible (streaming) or could first be shown (offline: at calibration or
    # when the previous step completed).
    prompt_ms: float | None = None
    due_ms: float | None = None  # streaming: when the prompt is to become visible (after the delay)
    t_start_ms: float | None = None
    t_end_ms: float | None = None
    peak: float | None = None
    reason: Reason | None = None

    @property
    def is_done(self) -> bool:
        return self.t_end_ms is not None and self.reason is None


class LivenessChecker:
    """Checks one capture against one challenge. Feed frames in time order, then call `finish`."""

    def __init__(
        self,
        challenge_actions: Sequence[Action | str],
        settings: LivenessSettings,
        *,
        mode: Mode | str = Mode.OFFLINE,
        mirrored: bool = False,
        start_ms: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        """`rng` draws the streaming prompt delays; default `random.SystemRandom()` (a CSPRNG: the
        delays must not be predictable). Tests pass a seeded `random.Random`."""
        self.actions = parse_challenge([str(a) for a in challenge_actions])
        self.settings = settings
        self.mode = Mode(mode)
        self.mirrored = mirrored
        self.start_ms = float(start_ms)
        self._steps = [_Step(a) for a in self.actions]
        self._k = 0
        self._blinks = BlinkDetector(blink_params(settings))
        self._turns = TurnTracker(turn_params(settings), mirrored=mirrored)
        self._presence = FacePresence(multiple_faces_min_ms=settings.multiple_faces_min_s * 1000)
        self._identity = IdentityTracker(min_cosine=settings.identity_min_cosine)
        self._queue: list[tuple[float, int, Blink | TurnEvent]] = []
        self._seq = 0
        self._last_ms: float | None = None
        self._frames = 0
        self._track: Box | None = None
        self._stopped: tuple[Outcome, Reason] | None = None
        self._blink_count = 0
        self._latencies_ms: list[float] = []
        self._rng = rng if rng is not None else random.SystemRandom()
        self._shown: list[tuple[int, Action, float]] = []
        self._anticipated = 0
        self._last = self._progress(None, 0)

    # -- public -------------------------------------------------------------------------------

    @property
    def progress(self) -> Progress:
        return self._last

    @property
    def prompts_shown(self) -> tuple[tuple[int, Action, float], ...]:
        """Streaming: (step, action, frame time in ms) of every prompt made visible so far, in order.
        The prompt appears in the `Progress` returned for that frame. Empty offline."""
        return tuple(self._shown)

    @property
    def is_finished(self) -> bool:
        """True once every action was seen or the checker stopped early; further frames are ignored."""
        return self._stopped is not None or self._k >= len(self._steps)

    def feed(self, analysis: FrameAnalysis, identity: np.ndarray | None = None) -> Progress:
        """Take one analysed frame (and, on sampled frames, the tracked face's identity vector).

        Raises `InputError` for a frame earlier than the previous one or a non-finite time.
        Frames before `start_ms` or after the checker finished are ignored."""
        t = float(analysis.t_ms)
        if not np.isfinite(t):
            raise InputError("frame time must be a finite number of milliseconds")
        if self._last_ms is not None and t < self._last_ms:
            raise InputError(f"frames must arrive in time order ({t} ms after {self._last_ms} ms)")
        if t < self.start_ms or self.is_finished:
            return self._last
        self._last_ms = t
        self._frames += 1

        face = self._pick_face(analysis.faces)
        self._presence.update(t, analysis.n_faces)
        if face is None:
            self._on_blink(self._blinks.skip(t))
        else:
            if identity is not None and self._identity.update(identity):
                self._stop(Outcome.FAIL, Reason.FACE_CHANGED)
            self._on_blink(self._blinks.observe(t, face))
            was_calibrated = self._turns.is_calibrated
            if math.isfinite(face.yaw_deg) and math.isfinite(face.pitch_deg):
                for event in self._turns.update(t, face.yaw_deg, face.pitch_deg):
                    self._push(event.t_ms, event)
            if not was_calibrated and self._turns.is_calibrated and self._k < len(self._steps):
                self._ready(t)
        self._apply_events(self._settled(t))
        self._check_presence(t)
        self._check_deadlines(self._settled(t))
        self._reveal(t)
        self._last = self._progress(face, analysis.n_faces)
        return self._last

    def finish(self, end_ms: float | None = None) -> LivenessResult:
        """The verdict once the capture has ended (at `end_ms`, default: the last frame)."""
        end = self._last_ms if end_ms is None else float(end_ms)
        if end is None:
            end = self.start_ms
        if not self.is_finished:
            # Let a blink that reopened just before the end count: no more frames will confirm it.
            for blink in self._blinks.flush():
                self._on_blink(blink)
            self._apply_events(float("inf"))
            self._check_deadlines(end)
        outcome, reasons = self._verdict(end)
        steps = tuple(
            StepResult(s.action, s.is_done, s.t_start_ms, s.t_end_ms, s.peak, s.reason) for s in self._steps
        )
        return LivenessResult(
            passed=outcome is Outcome.PASS,
            challenge=self.actions,
            steps=steps,
            outcome=outcome,
            reasons=reasons,
            signals=self._signals(end),
            frames_seen=self._frames,
        )

    # -- events -------------------------------------------------------------------------------

    def _push(self, t_ms: float, event: Blink | TurnEvent) -> None:
        self._seq += 1
        self._queue.append((t_ms, self._seq, event))

    def _on_blink(self, blink: Blink | None) -> None:
        if blink is not None:
            self._blink_count += 1
            self._push(blink.t_end_ms, blink)

    def _settled(self, t_ms: float) -> float:
        pending = self._blinks.settled_ms
        return t_ms if pending is None else min(t_ms, pending)

    def _apply_events(self, until_ms: float) -> None:
        self._queue.sort(key=lambda item: (item[0], item[1]))
        while self._queue and self._queue[0][0] <= until_ms and not self.is_finished:
            t, _, event = self._queue.pop(0)
            self._check_deadlines(t)
            if self.is_finished:
                break
            if isinstance(event, Blink):
                self._apply_blink(event)
            else:
                self._apply_turn(event)

    def _apply_blink(self, blink: Blink) -> None:
        step = self._steps[self._k]
        if step.action is Action.BLINK:
            if not self._after_prompt(step, blink.t_start_ms):
                return  # people blink on their own: not an attack cue, but not the answer either
            self._complete(step, blink.t_start_ms, blink.t_end_ms, blink.depth)

    def _apply_turn(self, event: TurnEvent) -> None:
        step = self._steps[self._k]
        if event.phase is TurnPhase.REACHED:
            return
        if event.phase is TurnPhase.CLEAR:
            # A clear turn the wrong way fails. Streaming, while the prompt is still withheld, a clear
            # turn fails whichever way it goes: were only the wrong way to fail, a client could
            # probe for the hidden action (docs/pad.md).
            withheld = not self._after_prompt(step, event.onset_ms)
            if withheld or event.action is not step.action:
                self._anticipated += withheld and event.action is step.action
                step.t_start_ms = event.onset_ms
                step.peak = event.peak_deg
                self._stop(Outcome.FAIL, Reason.WRONG_ACTION)
            return
        if event.action is step.action:
            # DONE in the expected direction. The excursion may have reached turn_deg while an
            # earlier step (a blink) was still pending; it began from neutral all the same.
            if self.mode is Mode.OFFLINE and event.t_ms - event.onset_ms > self._timeout_ms:
                step.t_start_ms = event.onset_ms
                self._stop(Outcome.RETRY, Reason.ACTION_TIMEOUT)
                return
            if not self._after_prompt(step, event.onset_ms):
                self._anticipated += 1  # under way before the prompt was visible
                return
            self._complete(step, event.onset_ms, event.t_ms, event.peak_deg)

    def _complete(self, step: _Step, t_start: float, t_end: float, peak: float) -> None:
        step.t_start_ms, step.t_end_ms, step.peak = t_start, t_end, peak
        if step.prompt_ms is not None:
            self._latencies_ms.append(t_start - step.prompt_ms)
        self._k += 1
        if self._k < len(self._steps):
            self._ready(self._last_ms if self._last_ms is not None else t_end)

    # -- prompts ------------------------------------------------------------------------------

    def _ready(self, t_ms: float) -> None:
        """The current step may be asked for from `t_ms` on: offline at once; streaming after a delay."""
        step = self._steps[self._k]
        if self.mode is Mode.OFFLINE:
            step.prompt_ms = t_ms
            return
        lo, hi = self.settings.prompt_delay_min_s, self.settings.prompt_delay_max_s
        step.due_ms = t_ms + (self._rng.uniform(lo, hi) if hi > lo else lo) * 1000

    def _reveal(self, t_ms: float) -> None:
        """Streaming: show the current step's prompt with the first frame at or after its due time."""
        if self.mode is Mode.OFFLINE or self.is_finished:
            return
        step = self._steps[self._k]
        if step.prompt_ms is None and step.due_ms is not None and t_ms >= step.due_ms:
            step.prompt_ms = t_ms
            self._shown.append((self._k, step.action, t_ms))

    def _after_prompt(self, step: _Step, onset_ms: float) -> bool:
        """Streaming: an action counts only when it began once its prompt was visible."""
        if self.mode is Mode.OFFLINE:
            return True
        return step.prompt_ms is not None and onset_ms >= step.prompt_ms

    # -- limits -------------------------------------------------------------------------------

    @property
    def _timeout_ms(self) -> float:
        return self.settings.action_timeout_s * 1000

    def _check_deadlines(self, t_ms: float) -> None:
        if self.is_finished:
            return
        if self.mode is Mode.STREAMING:
            step = self._steps[self._k]
            # The limit runs from the prompt becoming visible; while it is withheld (at most
            # prompt_delay_max_s) nothing can time out. Calibrating counts against the first action.
            prompt = step.prompt_ms if step.prompt_ms is not None else step.due_ms
            if prompt is None:
                prompt = self.start_ms
            if t_ms - prompt > self._timeout_ms:
                self._stop(Outcome.RETRY, Reason.ACTION_TIMEOUT)
        elif t_ms - self.start_ms > self._timeout_ms * len(self._steps):
            self._stop(Outcome.RETRY, Reason.ACTION_TIMEOUT)

    def _check_presence(self, t_ms: float) -> None:
        if self.is_finished:
            return
        presence = self._presence
        if presence.has_multiple_faces:
            self._stop(Outcome.RETRY, Reason.MULTIPLE_FACES)
        elif presence.lost_ms(t_ms) > self.settings.face_lost_max_s * 1000:
            self._stop(Outcome.RETRY, Reason.FACE_LOST)
        elif presence.first_face_ms is None and t_ms - self.start_ms > self._timeout_ms:
            self._stop(Outcome.RETRY, Reason.NO_FACE)

    def _stop(self, outcome: Outcome, reason: Reason) -> None:
        if self._stopped is None:
            self._stopped = (outcome, reason)
            if self._k < len(self._steps):
                self._steps[self._k].reason = reason

    # -- verdict ------------------------------------------------------------------------------

    def _verdict(self, end_ms: float) -> tuple[Outcome, tuple[Reason, ...]]:
        if self._stopped is not None:
            return self._stopped[0], (self._stopped[1],)
        if self._k >= len(self._steps):
            return Outcome.PASS, (Reason.CHALLENGE_PASSED,)
        step = self._steps[self._k]
        if self._presence.first_face_ms is None:
            reason = Reason.NO_FACE
        elif end_ms - self.start_ms < MIN_CAPTURE_MS or self._presence.frames_with_face < MIN_FACE_FRAMES:
            reason = Reason.CAPTURE_TOO_SHORT
        elif step.action in TURN_ACTIONS and (
            (self._turns.current is not None and self._turns.current.action is step.action)
            or self._turns.returning_from is not None
        ):
            reason = Reason.NO_RETURN_TO_NEUTRAL
        else:
            reason = Reason.CHALLENGE_INCOMPLETE
        step.reason = reason
        return Outcome.RETRY, (reason,)

    def _signals(self, end_ms: float) -> dict[str, float]:
        turns, presence = self._turns, self._presence
        signals: dict[str, float] = {
            "duration_s": max(0.0, end_ms - self.start_ms) / 1000,
            "frames": float(self._frames),
            "frames_with_face": float(presence.frames_with_face),
            "steps_done": float(min(self._k, len(self._steps))),
            "blink_count": float(self._blink_count),
            "yaw_left_max_deg": turns.lateral_range[1],
            "yaw_right_max_deg": -turns.lateral_range[0],
            "pitch_up_max_deg": turns.pitch_range[1],
            "pitch_down_max_deg": -turns.pitch_range[0],
            "face_lost_total_s": presence.lost_total_ms / 1000,
            "face_lost_longest_s": presence.lost_longest_ms / 1000,
            "multiple_faces_s": presence.multiple_faces_ms / 1000,
            "identity_samples": float(self._identity.samples),
        }
        if self.mode is Mode.STREAMING:
            signals["prompts_shown"] = float(len(self._shown))
            signals["anticipated_turns"] = float(self._anticipated)
        if turns.neutral is not None:
            signals["neutral_yaw_deg"] = turns.neutral[0] * (-1 if self.mirrored else 1)
            signals["neutral_pitch_deg"] = turns.neutral[1]
        if self._blinks.open_level is not None:
            signals["eye_open_level"] = self._blinks.open_level
        if self._identity.lowest_cosine is not None:
            signals["identity_min_cosine"] = self._identity.lowest_cosine
        if self._latencies_ms:
            signals["response_latency_min_s"] = min(self._latencies_ms) / 1000
            signals["response_latency_mean_s"] = float(np.mean(self._latencies_ms)) / 1000
        return signals

    # -- per-frame helpers --------------------------------------------------------------------

    def _pick_face(self, faces: tuple[FaceObservation, ...]) -> FaceObservation | None:
        """Follow the face seen before (a false detection elsewhere must not take over), else the largest."""
        if not faces:
            return None
        face = max(faces, key=lambda f: f.box.area)
        if self._track is not None and len(faces) > 1:
            overlap = max(faces, key=lambda f: f.box.iou(self._track))
            if overlap.box.iou(self._track) > 0.3:
                face = overlap
        self._track = face.box
        return face

    def _progress(self, face: FaceObservation | None, n_faces: int) -> Progress:
        n = len(self._steps)
        k = min(self._k, n)
        fraction = k / n
        if self._stopped is not None:
            outcome, reason = self._stopped
            message = message_for(Guidance.STOPPED)
            return Progress(k, n, False, None, Guidance.STOPPED, message, fraction, outcome, (reason,))
        if self._k >= n:
            return Progress(n, n, True, None, Guidance.DONE, message_for(Guidance.DONE), 1.0, Outcome.PASS)
        action = self._steps[self._k].action
        # Streaming: None while the prompt is withheld (the random delay); offline: once calibrated.
        prompt = action if self._steps[self._k].prompt_ms is not None else None
        # Nothing below may depend on a withheld action: a client probing with small head movements
        # would learn it from the progress bar or the guidance before its prompt (docs/pad.md).
        current = self._turns.current
        if prompt is not None and current is not None and current.action is action:
            fraction += 0.5 / n
        code: Guidance | None
        if face is None:
            code = Guidance.NO_FACE
        elif n_faces > 1:
            code = Guidance.MULTIPLE_FACES
        else:
            code = guidance_for_quality(face.quality.reasons)
        if code is None:
            if not self._turns.is_calibrated:
                code = Guidance.LOOK_AT_CAMERA
            elif current is not None or (
                not self._turns.is_armed and (prompt is None or action in TURN_ACTIONS)
            ):
                code = Guidance.TURN_BACK
            elif prompt is None:
                code = Guidance.LOOK_AT_CAMERA  # waiting for the prompt: hold still, face the camera
            else:
                code = Guidance.DO_ACTION
        message = message_for(code, action)
        return Progress(k, n, False, prompt, code, message, fraction)
