"""The public API: load the models once, then compare portraits, check liveness, verify captures.

    engine = Engine.load()                                   # models load here, never at import
    portrait = engine.read_portrait(Path("id.jpg"))          # ID side → in-memory template
    challenge = issue_challenge(settings.liveness, rng=random.SystemRandom(), now=datetime.now(UTC))
    decision = engine.verify_video(portrait, Path("capture.mp4"), challenge.actions)

    capture = engine.open_stream(portrait, challenge.actions)  # live: one frame at a time
    progress = capture.feed_image(jpeg_bytes, t_ms)             # prompt, guidance, fraction done
    decision = capture.finish()

An `Engine` is safe to share across threads; a `LiveCapture` belongs to one capture. Nothing here
writes image bytes anywhere: frames live in memory until the decision and are then dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from os import PathLike

import numpy as np

from portraitmatch._background import OrderedWorker, prefetch
from portraitmatch.analysis.portrait import Portrait, read_portrait
from portraitmatch.capture.image import decode_image, load_image
from portraitmatch.capture.video import VideoSource, read_video
from portraitmatch.config import Settings
from portraitmatch.decision.decide import decide
from portraitmatch.errors import InputError
from portraitmatch.liveness.challenge import Challenge, issue_challenge, parse_challenge
from portraitmatch.liveness.checker import LivenessChecker, Mode, Progress
from portraitmatch.liveness.pad import PadAccumulator, PadResult, measure_frame
from portraitmatch.matching.live import LiveCandidate, LiveFrameSelector
from portraitmatch.matching.matcher import Matcher, PortraitTemplate
from portraitmatch.ports import Embedder, FaceDetector, LandmarkDetector
from portraitmatch.types import (
    Action,
    Decision,
    Frame,
    FrameAnalysis,
    LivenessResult,
    MatchResult,
    Outcome,
    Reason,
)

__all__ = [
    "Challenge",
    "Decision",
    "Engine",
    "LiveCapture",
    "LivenessResult",
    "MatchResult",
    "Outcome",
    "PortraitTemplate",
    "Progress",
    "Settings",
    "issue_challenge",
    "parse_challenge",
]

ImageSource = bytes | str | PathLike[str] | Frame
# Identity vectors for the "same face throughout" rule are sampled, not computed on every frame.
IDENTITY_SAMPLE_MS = 400.0
# Frames a pipeline stage may run ahead of the next (each 640×480 frame is ~0.9 MB).
_PIPELINE_DEPTH = 4


@dataclass
class _Timer:
    totals_ms: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, started: float) -> None:
        self.totals_ms[stage] = self.totals_ms.get(stage, 0.0) + (time.perf_counter() - started) * 1000


class Engine:
    """The verification engine: models loaded once, shared by every capture and thread."""

    def __init__(
        self,
        *,
        settings: Settings,
        landmarker: LandmarkDetector,
        detector: FaceDetector,
        matcher: Matcher,
        identity_embedder: Embedder,
        load_ms: float = 0.0,
    ) -> None:
        self.settings = settings
        self.landmarker = landmarker
        self.detector = detector
        self.matcher = matcher
        self.identity_embedder = identity_embedder
        self.load_ms = load_ms

    @classmethod
    def load(cls, settings: Settings | None = None) -> Engine:
        """Load every model (sha256-checked) and the calibration. Takes about a second."""
        # Model adapters are imported here, not at module import: `import portraitmatch` stays light.
        from portraitmatch.adapters.models.dlib_models import DlibEmbedder, DlibHogDetector
        from portraitmatch.adapters.models.faceres_embedder import FaceresEmbedder
        from portraitmatch.adapters.models.mediapipe_landmarker import MediaPipeLandmarker
        from portraitmatch.matching.calibration import load_calibration

        settings = settings or Settings()
        started = time.perf_counter()
        calibration = load_calibration(settings.matching.calibration_file)
        faceres = FaceresEmbedder.load()
        dlib_embedder = DlibEmbedder.load(processes=settings.matching.resnet_processes)
        embedders: dict[str, Embedder] = {"dlib-resnet-128": dlib_embedder, faceres.model_id: faceres}
        matcher = Matcher(calibration, [embedders[m] for m in calibration.model_ids])
        engine = cls(
            settings=settings,
            landmarker=MediaPipeLandmarker.load(settings.quality),
            detector=DlibHogDetector.load(),
            matcher=matcher,
            identity_embedder=faceres,
        )
        engine.load_ms = (time.perf_counter() - started) * 1000
        return engine

    # -- stills -------------------------------------------------------------------------------

    def decode(self, source: ImageSource) -> Frame:
        if isinstance(source, Frame):
            return source
        limits = self.settings.limits
        if isinstance(source, bytes | bytearray | memoryview):
            return decode_image(
                bytes(source), max_bytes=limits.max_upload_bytes, max_pixels=limits.max_image_pixels
            )
        return load_image(source, max_bytes=limits.max_upload_bytes, max_pixels=limits.max_image_pixels)

    def find_portrait(self, source: ImageSource) -> Portrait:
        """The face on an ID chip photo or a whole card scan; raises InputError when unusable."""
        return read_portrait(self.decode(source), self.detector)

    def read_portrait(self, source: ImageSource) -> PortraitTemplate:
        """The ID side as an in-memory template (embeddings + quality); no pixels are kept."""
        return self.matcher.enrol(self.find_portrait(source))

    def compare(self, a: ImageSource, b: ImageSource) -> MatchResult:
        """1:1 comparison of two still photos: `a` is the ID side, `b` any photo of a face."""
        return self.matcher.compare(self.read_portrait(a), self.read_portrait(b))

    # -- live captures ------------------------------------------------------------------------

    def open_stream(
        self,
        portrait: PortraitTemplate | None,
        actions: Sequence[Action | str],
        *,
        mirrored: bool = False,
        mode: Mode | str = Mode.STREAMING,
        start_ms: float = 0.0,
    ) -> LiveCapture:
        """A live capture fed frame by frame (WebSocket, camera loop)."""
        return LiveCapture(
            self, portrait, tuple(parse_challenge(list(map(str, actions)))), mirrored, mode, start_ms
        )

    def analyse_video(self, video: VideoSource, *, mirrored: bool = False) -> AnalysedCapture:
        """Decode and analyse a recorded capture once; run any number of challenges on the result."""
        limits = self.settings.limits
        timer = _Timer()
        recorder = _Recorder(self, mirrored)
        frames = read_video(
            video,
            max_seconds=limits.max_video_seconds,
            max_frames=limits.max_video_frames,
            max_frame_pixels=limits.max_frame_pixels,
            mirrored=mirrored,
            max_bytes=limits.max_upload_bytes,
        )
        started = time.perf_counter()
        # Three stages overlap on the 2 cores: the decoder runs ahead on one thread, the landmarker
        # on this one, and identity sampling, frame selection and PAD measurements follow on a
        # third, in frame order. Each stage's own time is still summed per stage in `timings_ms`.
        decode_timer, record_timer = _Timer(), _Timer()
        with OrderedWorker[tuple[Frame, FrameAnalysis]](
            lambda item: recorder.record(*item, record_timer), depth=_PIPELINE_DEPTH
        ) as worker:
            decoded = prefetch(_timed(frames, decode_timer, "decode"), ahead=_PIPELINE_DEPTH)
            with closing(decoded):
                for frame in decoded:
                    worker.submit((frame, recorder.observe(frame, timer)))
        for other in (timer, record_timer):  # stages in pipeline order: decode, analysis, identity, pad
            for stage, ms in other.totals_ms.items():
                decode_timer.totals_ms[stage] = decode_timer.totals_ms.get(stage, 0.0) + ms
        timer = decode_timer
        timer.totals_ms["capture_total"] = (time.perf_counter() - started) * 1000
        return recorder.finish(timer)

    def check_liveness(
        self, video: VideoSource | AnalysedCapture, actions: Sequence[Action | str], *, mirrored: bool = False
    ) -> LivenessResult:
        capture = (
            video if isinstance(video, AnalysedCapture) else self.analyse_video(video, mirrored=mirrored)
        )
        return capture.check(actions, self.settings)

    def verify_video(
        self,
        portrait: PortraitTemplate,
        video: VideoSource,
        actions: Sequence[Action | str],
        *,
        mirrored: bool = False,
    ) -> Decision:
        """Liveness on a recorded capture, then the 1:1 match of its best frames against the portrait."""
        started = time.perf_counter()
        capture = self.analyse_video(video, mirrored=mirrored)
        return self._decide(portrait, capture, actions, started)

    def verify_analysed(
        self, portrait: PortraitTemplate, capture: AnalysedCapture, actions: Sequence[Action | str]
    ) -> Decision:
        """`verify_video` on a capture analysed already, for a caller that also needs its best frames
        (the service seals them as evidence when retention is on)."""
        return self._decide(portrait, capture, actions, time.perf_counter())

    def verify(
        self,
        id_photo: ImageSource,
        video: VideoSource,
        actions: Sequence[Action | str],
        *,
        mirrored: bool = False,
    ) -> Decision:
        started = time.perf_counter()
        t0 = time.perf_counter()
        portrait = self.read_portrait(id_photo)
        portrait_ms = (time.perf_counter() - t0) * 1000
        capture = self.analyse_video(video, mirrored=mirrored)
        decision = self._decide(portrait, capture, actions, started)
        decision.timings_ms["portrait"] = portrait_ms
        return decision

    def _decide(
        self,
        portrait: PortraitTemplate,
        capture: AnalysedCapture,
        actions: Sequence[Action | str],
        started: float,
    ) -> Decision:
        timer = _Timer(dict(capture.timings_ms))
        t0 = time.perf_counter()
        liveness = capture.check(actions, self.settings)
        timer.add("liveness", t0)
        match = None
        if liveness.outcome is Outcome.PASS:
            t0 = time.perf_counter()
            candidates = capture.candidates
            known = _sampled_vectors(self, candidates, capture.analyses, capture.identities)
            match = self.matcher.match_live(portrait, candidates, known=known)
            timer.add("match", t0)
        timer.totals_ms["total"] = (time.perf_counter() - started) * 1000
        return decide(liveness, match, portrait_quality=portrait.quality, timings_ms=timer.totals_ms)


def _timed(frames: Iterator[Frame], timer: _Timer, stage: str) -> Iterator[Frame]:
    while True:
        t0 = time.perf_counter()
        try:
            frame = next(frames)
        except StopIteration:
            timer.add(stage, t0)
            return
        timer.add(stage, t0)
        yield frame


@dataclass(frozen=True)
class AnalysedCapture:
    """A recorded capture after analysis: per-frame results, sampled identities, best frames."""

    analyses: tuple[FrameAnalysis, ...]
    identities: Mapping[int, np.ndarray]
    candidates: tuple[LiveCandidate, ...]
    mirrored: bool
    timings_ms: dict[str, float]
    pad: PadResult | None = None

    def check(self, actions: Sequence[Action | str], settings: Settings) -> LivenessResult:
        if not self.analyses:
            raise InputError("the capture has no frames")
        checker = LivenessChecker(
            parse_challenge(list(map(str, actions))),
            settings.liveness,
            mode=Mode.OFFLINE,
            mirrored=self.mirrored,
            start_ms=self.analyses[0].t_ms,
        )
        for analysis in self.analyses:
            checker.feed(analysis, self.identities.get(analysis.index))
        return with_pad(checker.finish(self.analyses[-1].t_ms), self.pad)


def _sampled_vectors(
    engine: Engine,
    candidates: Sequence[LiveCandidate],
    analyses: Sequence[FrameAnalysis],
    identities: Mapping[int, np.ndarray],
) -> dict[int, dict[str, np.ndarray]]:
    """The identity samples that are exactly the matcher's embedding of a chosen frame, by index.

    An identity sample is the identity embedder's vector of a frame's only face, in its landmark
    box; when that embedder is also one of the matcher's and the frame was chosen for the match, the
    matcher would compute the same vector again. Reused only where frame indices are unique (a
    stream whose client repeats indices could otherwise pair a vector with the wrong frame).
    """
    embedder = engine.identity_embedder
    if not identities or all(e is not embedder for e in engine.matcher.embedders):
        return {}
    by_index = {a.index: a for a in analyses}
    if len(by_index) != len(analyses):
        return {}
    known: dict[int, dict[str, np.ndarray]] = {}
    for c in candidates:
        analysis = by_index.get(c.frame.index)
        vector = identities.get(c.frame.index)
        if vector is not None and analysis is not None and analysis.primary is c.face:
            known[c.frame.index] = {embedder.model_id: vector}
    return known


def with_pad(liveness: LivenessResult, pad: PadResult | None) -> LivenessResult:
    """Fold presentation-attack evidence into the liveness result.

    The PAD signals do not depend on the challenge, so one PAD verdict per capture serves every
    challenge checked on it. A suspected attack fails the capture whatever the checker saw; the
    signals' scores always travel with the result for the audit trail.
    """
    if pad is None:
        return liveness
    signals = dict(liveness.signals)
    for sig in pad.signals:
        if sig.enabled and sig.score is not None:
            signals[f"pad_{sig.name}"] = float(sig.score)
    signals["pad_attack"] = 1.0 if pad.is_attack else 0.0
    if not pad.is_attack:
        return replace(liveness, signals=signals)
    reasons = tuple(
        dict.fromkeys((*pad.reasons, *(r for r in liveness.reasons if r is not Reason.CHALLENGE_PASSED)))
    )
    return replace(liveness, passed=False, outcome=Outcome.FAIL, reasons=reasons, signals=signals)


class _Recorder:
    """Analyses frames one by one and keeps only what the decision needs (not the frames)."""

    def __init__(self, engine: Engine, mirrored: bool, mode: Mode | str = Mode.OFFLINE) -> None:
        self.engine = engine
        self.mirrored = mirrored
        pad_settings = engine.settings.pad
        self.pad = (
            PadAccumulator(pad_settings, mode, mirrored=mirrored, liveness=engine.settings.liveness)
            if pad_settings.enabled
            else None
        )
        self.analyses: list[FrameAnalysis] = []
        self.identities: dict[int, np.ndarray] = {}
        self.selector = LiveFrameSelector(engine.settings.matching.max_live_frames)
        self._next_identity_ms = -np.inf

    def add(
        self, frame: Frame, timer: _Timer, *, arrival_ms: float | None = None
    ) -> tuple[FrameAnalysis, np.ndarray | None]:
        analysis = self.observe(frame, timer)
        return analysis, self.record(frame, analysis, timer, arrival_ms=arrival_ms)

    def observe(self, frame: Frame, timer: _Timer) -> FrameAnalysis:
        """Step 1 of `add`: the landmarker. Frames must be observed in order."""
        t0 = time.perf_counter()
        analysis = self.engine.landmarker.observe(frame)
        timer.add("analysis", t0)
        self.analyses.append(analysis)
        return analysis

    def record(
        self, frame: Frame, analysis: FrameAnalysis, timer: _Timer, *, arrival_ms: float | None = None
    ) -> np.ndarray | None:
        """Step 2 of `add`: identity sampling, frame selection and PAD measurements, in frame order.

        It may run on another thread than `observe` (`Engine.analyse_video` overlaps the two), but
        only ever on one thread at a time, and frame by frame in order.
        """
        identity = None
        face = analysis.primary
        if face is not None and analysis.n_faces == 1:
            if frame.t_ms >= self._next_identity_ms:
                t0 = time.perf_counter()
                identity = np.asarray(self.engine.identity_embedder.embed(frame.pixels, face.box).vector)
                timer.add("identity", t0)
                self.identities[analysis.index] = identity
                self._next_identity_ms = frame.t_ms + IDENTITY_SAMPLE_MS
            self.selector.offer(frame, face)
        if self.pad is not None:
            t0 = time.perf_counter()
            self.pad.add(
                analysis, measure_frame(frame.pixels, face), identity=identity, arrival_ms=arrival_ms
            )
            timer.add("pad", t0)
        return identity

    def pad_result(self, timer: _Timer) -> PadResult | None:
        if self.pad is None:
            return None
        t0 = time.perf_counter()
        result = self.pad.result()
        timer.add("pad", t0)
        return result

    def finish(self, timer: _Timer) -> AnalysedCapture:
        pad = self.pad_result(timer)
        return AnalysedCapture(
            tuple(self.analyses),
            dict(self.identities),
            self.selector.best(),
            self.mirrored,
            timer.totals_ms,
            pad,
        )


class LiveCapture:
    """One live capture: feed frames as they arrive; `finish()` gives the decision."""

    def __init__(
        self,
        engine: Engine,
        portrait: PortraitTemplate | None,
        actions: tuple[Action, ...],
        mirrored: bool,
        mode: Mode | str,
        start_ms: float,
    ) -> None:
        self.engine = engine
        self.portrait = portrait
        self.actions = actions
        self._timer = _Timer()
        self._recorder = _Recorder(engine, mirrored, mode)
        self._prompted: set[int] = set()
        self._checker = LivenessChecker(
            actions, engine.settings.liveness, mode=mode, mirrored=mirrored, start_ms=start_ms
        )
        self._lock = threading.Lock()
        self._started = time.perf_counter()

    @property
    def is_finished(self) -> bool:
        return self._checker.is_finished

    @property
    def progress(self) -> Progress:
        return self._checker.progress

    @property
    def best_frames(self) -> tuple[Frame, ...]:
        """The live frames kept for the 1:1 match, best first (still in memory only)."""
        with self._lock:
            return tuple(c.frame for c in self._recorder.selector.best())

    def feed(self, frame: Frame) -> Progress:
        with self._lock:
            arrival_ms = time.monotonic() * 1000
            analysis, identity = self._recorder.add(frame, self._timer, arrival_ms=arrival_ms)
            t0 = time.perf_counter()
            progress = self._checker.feed(analysis, identity)
            self._timer.add("liveness", t0)
            # Response timing: a live person reacts to a prompt after it is shown, a recording does not.
            # The streaming checker withholds each prompt for a random delay and says when it showed it.
            pad = self._recorder.pad
            if pad is not None:
                for step, action, shown_ms in self._checker.prompts_shown:
                    if step not in self._prompted:
                        self._prompted.add(step)
                        pad.prompt_shown(action, shown_ms)
            return progress

    def feed_image(self, data: bytes, t_ms: float, *, index: int | None = None) -> Progress:
        """A JPEG/PNG frame from a camera stream, taken at `t_ms` (client clock, milliseconds)."""
        t0 = time.perf_counter()
        decoded = self.engine.decode(data)
        self._timer.add("decode", t0)
        n = len(self._recorder.analyses) if index is None else index
        return self.feed(Frame(decoded.pixels, float(t_ms), n, self._recorder.mirrored))

    def finish_liveness(self) -> LivenessResult:
        with self._lock:
            return with_pad(self._checker.finish(), self._recorder.pad_result(self._timer))

    def finish(self) -> Decision:
        """The decision: liveness first, then the 1:1 match when a portrait was given."""
        with self._lock:
            liveness = with_pad(self._checker.finish(), self._recorder.pad_result(self._timer))
            match = None
            if liveness.outcome is Outcome.PASS and self.portrait is not None:
                t0 = time.perf_counter()
                recorder = self._recorder
                candidates = recorder.selector.best()
                known = _sampled_vectors(self.engine, candidates, recorder.analyses, recorder.identities)
                match = self.engine.matcher.match_live(self.portrait, candidates, known=known)
                self._timer.add("match", t0)
            self._timer.totals_ms["total"] = (time.perf_counter() - self._started) * 1000
            quality = self.portrait.quality if self.portrait is not None else None
            return decide(liveness, match, portrait_quality=quality, timings_ms=self._timer.totals_ms)


def iter_challenges(lines: Iterable[str]) -> Iterator[tuple[Action, ...]]:
    """Challenges from text lines (`blink,turn_left`), skipping blanks and `#` comments."""
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            yield parse_challenge(text)
