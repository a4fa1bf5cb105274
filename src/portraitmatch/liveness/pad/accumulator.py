"""`PadAccumulator`: feed every analysed frame of one capture, then ask for the `PadResult`.

    pad = PadAccumulator(settings.pad, mode=Mode.STREAMING, mirrored=frame.mirrored)
    for frame in frames:                                   # the engine's per-frame loop
        analysis = landmarker.observe(frame)
        pad.add(analysis, measure_frame(frame.pixels, analysis.primary), identity=vec_or_None,
                model_score=p_or_None, arrival_ms=server_clock_ms_or_None)
        ...                                                 # streaming: when a prompt becomes visible
        pad.prompt_shown(action, t_ms)
    result = pad.result()

One code path serves both modes; streaming adds the prompt times (response timing) and the
arrival clock (stream continuity). All state is per capture and pure: no model, no clock, no I/O.
Frames must come in time order; the same primary-face choice as the checker is made (the largest
face, or the one overlapping the face followed so far).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from portraitmatch.config import LivenessSettings, PadSettings
from portraitmatch.errors import InputError
from portraitmatch.liveness.blink import Blink, BlinkDetector
from portraitmatch.liveness.checker import Mode, blink_params, turn_params
from portraitmatch.liveness.pad import continuity, eye_cover, flat_motion, model, pulse, surface, timing
from portraitmatch.liveness.pad.measurements import FrameMeasurements
from portraitmatch.liveness.pad.result import PadResult, SignalScore, combine
from portraitmatch.liveness.pose import TurnPhase, TurnTracker
from portraitmatch.types import Action, Box, FaceObservation, FrameAnalysis

SIGNALS = (
    flat_motion.NAME,
    eye_cover.NAME,
    surface.BORDER,
    surface.TEXTURE,
    continuity.STREAM,
    continuity.FRAME_ORDER,
    continuity.IDENTITY,
    pulse.NAME,
    timing.NAME,
    model.NAME,
)
TEXTURE_EVERY = 3  # the texture spectrum is computed on every third frame with measurements


class PadAccumulator:
    """Collects the presentation-attack signals of one capture (see the module docstring)."""

    def __init__(
        self,
        settings: PadSettings,
        mode: Mode | str = Mode.OFFLINE,
        *,
        mirrored: bool = False,
        liveness: LivenessSettings | None = None,
    ) -> None:
        """`liveness` gives the checker's turn and blink parameters (default: the defaults), so the
        turns and blinks judged here are the ones the challenge counted."""
        unknown = set(settings.disabled_signals) - set(SIGNALS)
        if unknown:
            raise ValueError(
                f"pad.disabled_signals names unknown signals {sorted(unknown)}; known: {SIGNALS}"
            )
        self.settings = settings
        self.mode = Mode(mode)
        self.mirrored = mirrored
        live = liveness or LivenessSettings()
        self._turns = TurnTracker(turn_params(live), mirrored=mirrored)
        self._blinks = BlinkDetector(blink_params(live))
        self._flat = flat_motion.FlatMotionTest(settings.flat_motion_eval_deg)
        self._eyes = eye_cover.EyeCoverTest()
        self._stream = continuity.StreamTest()
        self._identity = continuity.IdentityTest()
        self._border_sides: list[int] = []
        self._texture_peaks: list[float] = []
        self._skin_t: list[float] = []
        self._skin_rgb: list[tuple[float, float, float]] = []
        self._model_scores: list[float] = []
        self._prompts: list[tuple[Action, float]] = []
        self._onsets: list[timing.ActionOnset] = []
        self._track: Box | None = None
        self._last_ms: float | None = None
        self._frames = 0
        self._measured = 0
        self._finished: PadResult | None = None

    @property
    def frames(self) -> int:
        return self._frames

    def add(
        self,
        analysis: FrameAnalysis,
        measurements: FrameMeasurements | None = None,
        *,
        identity: np.ndarray | None = None,
        model_score: float | None = None,
        arrival_ms: float | None = None,
    ) -> None:
        """Take one analysed frame; `measurements` from `measure_frame` on the same frame's pixels
        (None when they were not computed: the pixel signals then skip the frame), optionally the
        primary face's identity vector (sampled frames), an operator model's attack probability,
        and in streaming the server-clock time the frame arrived."""
        if self._finished is not None:
            raise RuntimeError("result() was already called for this capture")
        t = float(analysis.t_ms)
        if not np.isfinite(t):
            raise InputError("frame time must be a finite number of milliseconds")
        if self._last_ms is not None and t < self._last_ms:
            raise InputError(f"frames must arrive in time order ({t} ms after {self._last_ms} ms)")
        self._last_ms = t
        self._frames += 1
        face = self._pick_face(analysis.faces)
        m = measurements
        self._stream.update(t, face, m, arrival_ms)
        if identity is not None:
            self._identity.update(identity)
        if model_score is not None:
            if not 0.0 <= model_score <= 1.0:
                raise ValueError("model_score must be a probability in [0, 1]")
            self._model_scores.append(float(model_score))

        dev_yaw = dev_pitch = None
        if face is not None:
            for event in self._turns.update(t, face.yaw_deg, face.pitch_deg):
                if event.phase is TurnPhase.REACHED:
                    self._onsets.append(timing.ActionOnset(event.action, event.onset_ms))
            if self._turns.deviation is not None:
                dev_yaw, dev_pitch = self._turns.deviation.lateral_deg, self._turns.deviation.pitch_deg
        self._on_blink(self._blinks.observe(t, face))

        usable = face is not None and m is not None
        if not usable:
            self._flat.update(None, None, 0.0, 0.0)  # a gap breaks the patch chain
        elif dev_yaw is not None and dev_pitch is not None:
            self._flat.update(face, m, dev_yaw, dev_pitch)
        self._eyes.update(t, face, m if usable else None)
        if usable:
            assert m is not None
            self._measured += 1
            self._border_sides.append(surface.enclosed_sides(m))
            if self._measured % TEXTURE_EVERY == 1:
                peak = surface.spectral_peak(m.texture)
                if peak is not None:
                    self._texture_peaks.append(peak)
            if any(m.skin_rgb):
                self._skin_t.append(t)
                self._skin_rgb.append(m.skin_rgb)

    def prompt_shown(self, action: Action | str, t_ms: float) -> None:
        """Streaming: the prompt for `action` became visible to the customer at `t_ms` (frame clock)."""
        self._prompts.append((Action(action), float(t_ms)))

    def result(self) -> PadResult:
        """The verdict over everything fed so far. Call once, after the capture ended; later calls
        return the same result."""
        if self._finished is not None:
            return self._finished
        s = self.settings
        for blink in self._blinks.flush():
            self._on_blink(blink)
        self._flat.finish()
        responses = timing.match_responses(
            sorted(self._prompts, key=lambda p: p[1]),
            self._onsets,
            min_ms=s.response_min_s * 1000,
            max_ms=s.response_max_s * 1000,
        )
        signals: list[SignalScore] = [
            flat_motion.score_flat_motion(self._flat, s.flat_motion_min_parallax),
            eye_cover.score_eye_cover(self._eyes, s.eye_cover_max_surround_ratio),
            surface.score_medium_border(self._border_sides, s.border_max_enclosed_fraction),
            surface.score_recapture(self._texture_peaks, s.recapture_max_peak),
            continuity.score_stream(
                self._stream,
                max_cuts=s.stream_max_cuts,
                max_repeated_fraction=s.stream_max_repeated_fraction,
                max_drift_s=s.stream_max_clock_drift_s,
            ),
            continuity.score_frame_order(self._stream, s.frame_order_max_ratio),
            continuity.score_identity(self._identity, s.identity_min_cosine),
            pulse.score_pulse(self._skin_t, self._skin_rgb, s.pulse_min_capture_s, s.pulse_min_snr_db),
            timing.score_timing(responses, is_streaming=self.mode is Mode.STREAMING),
            model.score_model(self._model_scores, s.model_threshold),
        ]
        off = set(s.disabled_signals)
        if not s.enabled:
            off = set(SIGNALS)
        signals = [_with_enabled(x, x.name not in off) for x in signals]
        self._finished = combine(tuple(signals), frames=self._frames)
        return self._finished

    def _on_blink(self, blink: Blink | None) -> None:
        if blink is not None:
            self._onsets.append(timing.ActionOnset(Action.BLINK, blink.t_start_ms))
            self._eyes.on_blink(blink)

    def _pick_face(self, faces: tuple[FaceObservation, ...]) -> FaceObservation | None:
        if not faces:
            return None
        face = max(faces, key=lambda f: f.box.area)
        if self._track is not None and len(faces) > 1:
            overlap = max(faces, key=lambda f: f.box.iou(self._track))
            if overlap.box.iou(self._track) > 0.3:
                face = overlap
        self._track = face.box
        return face


def _with_enabled(signal: SignalScore, enabled: bool) -> SignalScore:
    return replace(signal, enabled=enabled)
