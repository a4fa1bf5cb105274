"""Presentation-attack detection benchmark, in ISO/IEC 30107-3 terms.

* **Bona fide presentations**: the bona fide dev clips, cut into capture windows of
  `WINDOW_S` seconds (a 2-4 action challenge takes about that long), each analysed as one capture.
  BPCER = share of bona fide presentations that PAD calls an attack.
* **Attack presentations**: the attack suite (`bench.attacks`), generated deterministically from
  the same clips with a seed, plus the real replay clips of the dev set (windowed like the bona
  fide ones). APCER is reported per attack type, three ways:

  - *PAD alone*: share of attacks that PAD does not flag, whatever the challenge;
  - *system, offline, order matched*: the attack is also run through the offline liveness checker
    with the challenge set to exactly the actions the attack performs (as the checker's own
    detectors see them), the worst case the issue asks for. Accepted = the checker passes and PAD
    does not flag. An attack that performs no action cannot pass any challenge;
  - *video session, order matched, issued length*: the same, counted only where the matched
    challenge is as long as the service issues (`liveness.min_actions`, default 2): what an
    uploaded recording can achieve in a `video` session, whose challenge the service issues. A
    recording that performs one action (a single fake blink) fits a challenge given explicitly on
    the command line, never an issued one;
  - *system, streaming*: as above, and the engine shows each prompt after a random delay; the
    probability that a recording's fixed action times all land in the response windows is
    simulated over many prompt schedules (`streaming_pass_probability`);
  - *system, streaming, issued challenge*: what a streaming session really faces. The service
    reveals one prompt at a time, so a prepared recording cannot be matched to the order: over
    `ISSUED_TRIALS` challenges issued as the service issues them, the share the offline checker
    passes on the recording, each weighted by its own prompt-timing probability
    (`issued_acceptance`).

  The upper end of the 95 % confidence interval (Clopper-Pearson) is given with every rate: with
  n presentations and no error it is about 3/n, so small n cannot show 1 %.
* **Signals**: every signal's raw value on every presentation; the verdict with each signal removed
  and with each signal alone (its contribution); and, for the calibrated signals, the threshold
  this run's bona fide data suggests, with leave-one-clip-out BPCER (each clip judged with a
  threshold chosen on the other clips only).

Each source clip is decoded and analysed once (MediaPipe landmarker, `measure_frame`, and a
faceres identity vector every `IDENTITY_EVERY_MS`), kept in memory for the run, and every attack is
built from those frames. Rendered attacks are analysed by the same real landmarker, frame by frame.
"""

from __future__ import annotations

import json
import math
import random
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from portraitmatch.bench.attacks import ATTACK_TYPES, AttackClip, Source, prints, screens, splices
from portraitmatch.bench.liveness import Clip, check_offline, load_clips
from portraitmatch.config import LivenessSettings, PadSettings, Settings
from portraitmatch.errors import InputError
from portraitmatch.liveness.blink import BlinkDetector
from portraitmatch.liveness.challenge import issue_challenge
from portraitmatch.liveness.checker import Mode, blink_params, turn_params
from portraitmatch.liveness.pad import SIGNALS, PadAccumulator, PadResult, measure_frame
from portraitmatch.liveness.pad import timing as pad_timing
from portraitmatch.liveness.pad.measurements import FrameMeasurements
from portraitmatch.liveness.pose import TurnPhase, TurnTracker
from portraitmatch.types import Action, Frame, FrameAnalysis

WINDOW_S = 6.0
MIN_WINDOW_S = 3.0
IDENTITY_EVERY_MS = 400.0
TIMING_TRIALS = 400
ISSUED_TRIALS = 200  # issued challenges per attack for the issued-challenge streaming rate
ISSUED_TIMING_TRIALS = 100  # prompt schedules per issued challenge the checker passes
MAX_CHALLENGE = 4
BONA_FIDE = "bona_fide"

# How each calibrated signal's raw value reads: "below" = small values are attack evidence.
CALIBRATED: dict[str, tuple[str, str, float]] = {
    # signal: (direction, PadSettings field, safety factor applied to the most extreme bona fide value)
    "flat_motion": ("below", "flat_motion_min_parallax", 0.6),
    "eye_cover": ("above", "eye_cover_max_surround_ratio", 1.5),
    "medium_border": ("above", "border_max_enclosed_fraction", 1.5),
    "identity": ("below_distance", "identity_min_cosine", 1.5),
    "frame_order": ("above", "frame_order_max_ratio", 1.3),
    "recapture_texture": ("above", "recapture_max_peak", 1.3),
    "pulse": ("below", "pulse_min_snr_db", 1.0),
}
# A border fraction threshold never goes under this: a few frames with edges on three sides
# (a doorway behind the head) must not be enough.
THRESHOLD_FLOORS = {"medium_border": 0.15}


@dataclass(slots=True)
class FrameRecord:
    analysis: FrameAnalysis
    measurements: FrameMeasurements
    identity: np.ndarray | None


@dataclass(slots=True)
class Performed:
    action: Action
    onset_ms: float
    end_ms: float


@dataclass(slots=True)
class Presentation:
    name: str
    attack_type: str  # BONA_FIDE for bona fide
    species: str
    source: str
    clip: str  # the dev clip the presentation comes from (leave-one-clip-out groups)
    frames: int
    seconds: float
    pad: PadResult
    performed: tuple[Action, ...] = ()
    checker_passed: bool | None = None
    # The matched challenge is as long as the service issues (liveness.min_actions): a video session
    # could have been given it. A recording that performs fewer distinct steps fits no issued challenge.
    issuable: bool = False
    streaming_pass_probability: float | None = None
    issued_acceptance: float | None = None
    notes: str = ""

    @property
    def is_attack(self) -> bool:
        return self.attack_type != BONA_FIDE

    def accepted_system(self, pad: PadResult | None = None) -> bool:
        return bool(self.checker_passed) and not (pad or self.pad).is_attack

    def accepted_video_session(self, pad: PadResult | None = None) -> bool:
        return self.issuable and self.accepted_system(pad)

    def streaming_acceptance(self, pad: PadResult | None = None) -> float:
        if not self.accepted_system(pad):
            return 0.0
        return 1.0 if self.streaming_pass_probability is None else self.streaming_pass_probability

    def issued_streaming_acceptance(self, pad: PadResult | None = None) -> float:
        if (pad or self.pad).is_attack:
            return 0.0
        return self.issued_acceptance or 0.0


@dataclass(slots=True)
class PadBenchResult:
    seed: int
    quick: bool
    settings: dict[str, Any]
    presentations: list[Presentation]
    elapsed_s: float
    started_at: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- metrics ----------------------------------------------------------------------------------

    def bona_fide(self) -> list[Presentation]:
        return [p for p in self.presentations if not p.is_attack]

    def attacks(self, attack_type: str | None = None) -> list[Presentation]:
        return [
            p
            for p in self.presentations
            if p.is_attack and (attack_type is None or p.attack_type == attack_type)
        ]

    def attack_types(self) -> list[str]:
        seen = {p.attack_type for p in self.attacks()}
        return [t for t in ATTACK_TYPES if t in seen]

    def rates(self, off: Iterable[str] = (), only: str | None = None) -> dict[str, Any]:
        """BPCER and per-type APCER with signals switched off (or only one signal on)."""
        disabled = set(off) if only is None else set(SIGNALS) - {only}

        def verdict(p: Presentation) -> PadResult:
            return p.pad.without(disabled) if disabled else p.pad

        bona = self.bona_fide()
        rejected = sum(verdict(p).is_attack for p in bona)
        out: dict[str, Any] = {"bpcer": _rate(rejected, len(bona)), "attacks": {}}
        for kind in self.attack_types():
            items = self.attacks(kind)
            pad_missed = sum(not verdict(p).is_attack for p in items)
            system = sum(p.accepted_system(verdict(p)) for p in items)
            video = sum(p.accepted_video_session(verdict(p)) for p in items)
            streaming = float(sum(p.streaming_acceptance(verdict(p)) for p in items))
            issued = float(sum(p.issued_streaming_acceptance(verdict(p)) for p in items))
            out["attacks"][kind] = {
                "species": ATTACK_TYPES[kind][0],
                "apcer_pad": _rate(pad_missed, len(items)),
                "apcer_system": _rate(system, len(items)),
                "apcer_video_session": _rate(video, len(items)),
                "apcer_streaming": {"rate": streaming / len(items) if items else None, "n": len(items)},
                "apcer_streaming_issued": {"rate": issued / len(items) if items else None, "n": len(items)},
                "checker_passed": sum(bool(p.checker_passed) for p in items),
            }
        return out

    def contributions(self) -> dict[str, Any]:
        return {
            name: {"removed": self.rates(off=[name]), "alone": self.rates(only=name)}
            for name in SIGNALS
            if any(p.pad.signal(name) and p.pad.signal(name).enabled for p in self.presentations)  # type: ignore[union-attr]
        }

    def calibration(self) -> dict[str, Any]:
        """Per calibrated signal: bona fide and attack value ranges, the threshold this run's bona
        fide windows suggest (all clips), and leave-one-clip-out BPCER."""
        out: dict[str, Any] = {}
        bona = self.bona_fide()
        for name, (direction, setting, factor) in CALIBRATED.items():
            values = [(p.clip, _value(p, name)) for p in bona]
            values = [(c, v) for c, v in values if v is not None]
            attack_values = [v for p in self.attacks() if (v := _value(p, name)) is not None]
            entry: dict[str, Any] = {
                "setting": setting,
                "direction": direction,
                "bona_fide_n": len(values),
                "bona_fide_range": [min(v for _, v in values), max(v for _, v in values)] if values else None,
                "attack_n": len(attack_values),
                "attack_median": float(np.median(attack_values)) if attack_values else None,
            }
            if values:
                entry["suggested_threshold"] = _suggest(name, direction, [v for _, v in values], factor)
                clips = sorted({c for c, _ in values})
                flagged = 0
                for clip in clips:
                    rest = [v for c, v in values if c != clip]
                    if not rest:
                        continue
                    tau = _suggest(name, direction, rest, factor)
                    flagged += sum(_flags(direction, v, tau) for c, v in values if c == clip)
                entry["loo_bpcer"] = _rate(flagged, len(values))
            out[name] = entry
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "quick": self.quick,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 1),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "settings": self.settings,
            "notes": self.notes,
            "rates": self.rates(),
            "contributions": self.contributions(),
            "calibration": self.calibration(),
            "presentations": [
                {
                    "name": p.name,
                    "attack_type": p.attack_type,
                    "species": p.species,
                    "source": p.source,
                    "frames": p.frames,
                    "seconds": round(p.seconds, 2),
                    "performed": [a.value for a in p.performed],
                    "checker_passed": p.checker_passed,
                    "issuable": p.issuable,
                    "streaming_pass_probability": p.streaming_pass_probability,
                    "issued_acceptance": p.issued_acceptance,
                    "pad": p.pad.summary(),
                    "notes": p.notes,
                }
                for p in self.presentations
            ],
        }


def _value(p: Presentation, name: str) -> float | None:
    s = p.pad.signal(name)
    return None if s is None or s.value is None else float(s.value)


def _suggest(name: str, direction: str, values: Sequence[float], factor: float) -> float:
    if direction == "below":
        worst = min(values)
        return worst * factor if worst > 0 else worst - abs(factor)
    if direction == "below_distance":  # cosine: the distance 1 - cos is scaled
        return 1.0 - (1.0 - min(values)) * factor
    return max(max(values) * factor, THRESHOLD_FLOORS.get(name, 0.0))


def _flags(direction: str, value: float, threshold: float) -> bool:
    return value <= threshold if direction.startswith("below") else value >= threshold


def _rate(errors: int, n: int) -> dict[str, Any]:
    return {"errors": errors, "n": n, "rate": errors / n if n else None, "upper95": _upper95(errors, n)}


def _upper95(errors: int, n: int) -> float | None:
    """Upper end of the two-sided 95 % Clopper-Pearson interval for errors/n (bisection on the
    binomial CDF; exact enough for a report)."""
    if n == 0:
        return None
    if errors >= n:
        return 1.0

    def cdf(p: float) -> float:
        return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(errors + 1))

    lo, hi = errors / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if cdf(mid) > 0.025:
            lo = mid
        else:
            hi = mid
    return hi


# -- analysis ------------------------------------------------------------------------------------


ProgressHook = Callable[[str, int, int], None]


class Analyser:
    """The real models, loaded once: MediaPipe landmarker and (if it loads) the faceres embedder."""

    def __init__(self, settings: Settings) -> None:
        from portraitmatch.adapters.models.mediapipe_landmarker import MediaPipeLandmarker

        self.settings = settings
        self.landmarker = MediaPipeLandmarker.load(settings.quality)
        self.embedder: Any = None
        self.notes: list[str] = []
        try:
            from portraitmatch.adapters.models.faceres_embedder import FaceresEmbedder

            self.embedder = FaceresEmbedder.load()
        except Exception as exc:  # the identity signal is then not assessed; say so in the report
            self.notes.append(f"identity vectors unavailable ({type(exc).__name__}: {exc})")
        self.totals_ms = {"landmarker": 0.0, "measure": 0.0, "embed": 0.0}
        self.counts = {"landmarker": 0, "measure": 0, "embed": 0}

    def close(self) -> None:
        self.landmarker.close()

    def decode(self, clip: Clip) -> list[Frame]:
        from portraitmatch.capture.video import read_video

        limits = self.settings.limits
        return list(
            read_video(
                clip.path,
                max_seconds=max(limits.max_video_seconds, clip.duration_s + 1),
                max_frames=max(limits.max_video_frames, int(clip.duration_s * clip.fps) + 10),
                max_frame_pixels=limits.max_frame_pixels,
            )
        )

    def records(
        self, frames: Sequence[Frame], analyses: Sequence[FrameAnalysis] | None = None
    ) -> list[FrameRecord]:
        out: list[FrameRecord] = []
        next_identity = -math.inf
        for k, frame in enumerate(frames):
            if analyses is None:
                t0 = time.perf_counter()
                analysis = self.landmarker.observe(frame)
                self._count("landmarker", t0)
            else:
                analysis = analyses[k]
            t0 = time.perf_counter()
            m = measure_frame(frame.pixels, analysis.primary)
            self._count("measure", t0)
            vector = None
            face = analysis.primary
            if self.embedder is not None and face is not None and frame.t_ms >= next_identity:
                t0 = time.perf_counter()
                try:
                    vector = np.asarray(self.embedder.embed(frame.pixels, face.box).vector)
                except Exception:  # a face too close to the edge to crop: skip this sample
                    vector = None
                self._count("embed", t0)
                next_identity = frame.t_ms + IDENTITY_EVERY_MS
            out.append(FrameRecord(analysis, m, vector))
        return out

    def _count(self, stage: str, started: float) -> None:
        self.totals_ms[stage] += (time.perf_counter() - started) * 1000
        self.counts[stage] += 1


def evaluate(
    records: Sequence[FrameRecord],
    pad_settings: PadSettings,
    live: LivenessSettings,
    *,
    mode: Mode = Mode.OFFLINE,
    arrival_ms: Sequence[float] | None = None,
) -> PadResult:
    acc = PadAccumulator(pad_settings, mode, liveness=live)
    for k, r in enumerate(records):
        acc.add(
            r.analysis,
            r.measurements,
            identity=r.identity,
            arrival_ms=None if arrival_ms is None else arrival_ms[k],
        )
    return acc.result()


def performed_actions(analyses: Sequence[FrameAnalysis], live: LivenessSettings) -> list[Performed]:
    """The actions a capture performs as the checker's own detectors see them (unmirrored)."""
    turns = TurnTracker(turn_params(live))
    blinks = BlinkDetector(blink_params(live))
    found: list[Performed] = []
    for a in analyses:
        face = a.primary
        if face is None:
            blinks.skip(a.t_ms)
            continue
        for e in turns.update(a.t_ms, face.yaw_deg, face.pitch_deg):
            if e.phase is TurnPhase.DONE:
                found.append(Performed(e.action, e.onset_ms, e.t_ms))
        b = blinks.observe(a.t_ms, face)
        if b is not None:
            found.append(Performed(Action.BLINK, b.t_start_ms, b.t_end_ms))
    for b in blinks.flush():
        found.append(Performed(Action.BLINK, b.t_start_ms, b.t_end_ms))
    return sorted(found, key=lambda p: p.onset_ms)


def matched_challenge(performed: Sequence[Performed]) -> list[Performed]:
    """The challenge that fits the recording: its actions in order, no action twice in a row."""
    out: list[Performed] = []
    for p in performed:
        if out and out[-1].action is p.action:
            continue
        out.append(p)
        if len(out) == MAX_CHALLENGE:
            break
    return out


def streaming_pass_probability(
    steps: Sequence[Performed],
    pad: PadSettings,
    start_ms: float,
    rng: np.random.Generator,
    trials: int = TIMING_TRIALS,
    live: LivenessSettings | None = None,
) -> float:
    """Probability that a recording with these action times passes the response-timing check when
    the checker shows each prompt a uniform random delay (`live.prompt_delay_min_s/max_s`) after
    the previous step ended."""
    live = live or LivenessSettings()
    if not steps:
        return 0.0
    onsets = [pad_timing.ActionOnset(s.action, s.onset_ms) for s in steps]
    passed = 0
    for _ in range(trials):
        prompts = []
        previous_end = start_ms
        for s in steps:
            shown = previous_end + rng.uniform(live.prompt_delay_min_s, live.prompt_delay_max_s) * 1000
            prompts.append((s.action, shown))
            previous_end = s.end_ms
        responses = pad_timing.match_responses(
            prompts, onsets, min_ms=pad.response_min_s * 1000, max_ms=pad.response_max_s * 1000
        )
        passed += all(r.ok for r in responses)
    return passed / trials


# -- the run -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Analysed:
    clip: Clip
    frames: list[Frame]
    records: list[FrameRecord]


def run_pad_bench(
    root: Path,
    settings: Settings,
    *,
    seed: int = 0,
    quick: bool = False,
    on_progress: ProgressHook | None = None,
) -> PadBenchResult:
    """Build every presentation, evaluate PAD and the checker on each; see the module docstring."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    live, pad_settings = settings.liveness, settings.pad
    labels = sorted((root / "liveness").glob("*/labels.json"))
    if not labels:
        raise InputError(f"no liveness labels found under {root / 'liveness'}")
    clips = load_clips(labels)
    analyser = Analyser(settings)
    presentations: list[Presentation] = []
    notes = list(analyser.notes)
    try:
        analysed: list[_Analysed] = []
        for n, clip in enumerate(clips):
            _progress(on_progress, f"analysing {clip.name}", n, len(clips))
            frames = analyser.decode(clip)
            analysed.append(_Analysed(clip, frames, analyser.records(frames)))
        bona = [a for a in analysed if a.clip.kind == BONA_FIDE]
        for a in analysed:
            kind = BONA_FIDE if a.clip.kind == BONA_FIDE else "replay_real"
            for name, lo, hi in _windows(a):
                recs = a.records[lo:hi]
                presentations.append(
                    _present(
                        name, kind, a.clip.name, a.clip.name, recs, pad_settings, live, rng, notes=a.clip.kind
                    )
                )
        sources = [_source(a) for a in bona]
        total = _suite_size(sources, quick)
        for n, attack in enumerate(_attack_suite(sources, rng, quick)):
            _progress(on_progress, f"attack {attack.name}", n, total)
            recs = analyser.records(attack.frames, attack.analyses)
            mode = Mode.STREAMING if attack.streaming else Mode.OFFLINE
            clip_name = attack.source.split("+")[0]
            presentations.append(
                _present(
                    attack.name,
                    attack.attack_type,
                    attack.source,
                    clip_name,
                    recs,
                    pad_settings,
                    live,
                    rng,
                    mode=mode,
                    arrival_ms=attack.arrival_ms,
                    notes=attack.notes,
                )
            )
            attack.frames = []  # free the pixels
        timings = {
            f"{stage}_ms_per_frame": analyser.totals_ms[stage] / max(1, analyser.counts[stage])
            for stage in analyser.totals_ms
        }
    finally:
        analyser.close()
    return PadBenchResult(
        seed=seed,
        quick=quick,
        settings={"pad": pad_settings.model_dump(mode="json"), "liveness": live.model_dump(mode="json")},
        presentations=presentations,
        elapsed_s=time.perf_counter() - started,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        timings_ms=timings,
        notes=notes,
    )


def _progress(hook: ProgressHook | None, stage: str, done: int, total: int) -> None:
    if hook is not None:
        hook(stage, done, total)


def _windows(a: _Analysed) -> list[tuple[str, int, int]]:
    """Consecutive WINDOW_S windows of a clip; a last piece shorter than MIN_WINDOW_S joins the one before."""
    times = [r.analysis.t_ms for r in a.records]
    if not times:
        return []
    total = (times[-1] - times[0]) / 1000
    n = max(1, int(total // WINDOW_S))
    if total - n * WINDOW_S >= MIN_WINDOW_S:
        n += 1
    edges = [times[0] + k * WINDOW_S * 1000 for k in range(n)] + [math.inf]
    out = []
    for k in range(n):
        lo = next(i for i, t in enumerate(times) if t >= edges[k])
        hi = next((i for i, t in enumerate(times) if t >= edges[k + 1]), len(times))
        out.append((f"{a.clip.name}#{k}", lo, hi))
    return out


def _present(
    name: str,
    kind: str,
    source: str,
    clip: str,
    records: Sequence[FrameRecord],
    pad_settings: PadSettings,
    live: LivenessSettings,
    rng: np.random.Generator,
    *,
    mode: Mode = Mode.OFFLINE,
    arrival_ms: Sequence[float] | None = None,
    notes: str = "",
) -> Presentation:
    pad = evaluate(records, pad_settings, live, mode=mode, arrival_ms=arrival_ms)
    analyses = [r.analysis for r in records]
    t0 = analyses[0].t_ms if analyses else 0.0
    seconds = (analyses[-1].t_ms - t0) / 1000 if analyses else 0.0
    species = "bona_fide" if kind == BONA_FIDE else ATTACK_TYPES[kind][0]
    p = Presentation(name, kind, species, source, clip, len(records), seconds, pad, notes=notes)
    if kind == BONA_FIDE:
        return p
    steps = matched_challenge(performed_actions(analyses, live))
    p.performed = tuple(s.action for s in steps)
    p.issuable = len(steps) >= live.min_actions
    if not steps:
        p.checker_passed = False
        return p
    shifted = [
        FrameAnalysis(a.index, a.t_ms - t0, a.width_px, a.height_px, a.faces) for a in analyses
    ]  # the checker counts its deadlines from the capture's start
    p.checker_passed = check_offline(shifted, [s.action for s in steps], live).passed
    # The checker's neutral pose is known 0.5 s after the first face (capture clock).
    calibrated = next((a.t_ms for a in shifted if a.primary is not None), 0.0) + 500.0
    if p.checker_passed:  # `steps` keep the source's clock
        p.streaming_pass_probability = streaming_pass_probability(
            steps, pad_settings, t0 + calibrated, rng, live=live
        )
    p.issued_acceptance = issued_acceptance(shifted, pad_settings, live, calibrated, rng)
    return p


def issued_acceptance(
    analyses: Sequence[FrameAnalysis],
    pad: PadSettings,
    live: LivenessSettings,
    start_ms: float,
    rng: np.random.Generator,
    *,
    trials: int = ISSUED_TRIALS,
    timing_trials: int = ISSUED_TIMING_TRIALS,
) -> float:
    """Probability that a recording passes a streaming session's challenge, which it cannot know in
    advance: challenges drawn as the service draws them (`issue_challenge`), each the checker passes
    offline weighted by the probability that its steps' times fit random prompt delays."""
    draw = random.Random(int(rng.integers(2**32)))
    now = datetime.now(UTC)
    total = 0.0
    for _ in range(trials):
        challenge = issue_challenge(live, rng=draw, now=now).actions
        result = check_offline(analyses, challenge, live)
        if not result.passed:
            continue
        steps = [
            Performed(s.action, s.t_start_ms, s.t_end_ms)
            for s in result.steps
            if s.t_start_ms is not None and s.t_end_ms is not None
        ]
        if len(steps) == len(challenge):
            total += streaming_pass_probability(steps, pad, start_ms, rng, timing_trials, live)
    return total / trials


def _source(a: _Analysed) -> Source:
    blink_frames = tuple(
        round(act.t_key_s * a.clip.fps)
        for act in a.clip.actions
        if act.action is Action.BLINK and not act.uncertain
    )
    blink_frames = tuple(k for k in blink_frames if 0 <= k < len(a.frames))
    return Source(a.clip.name, a.frames, [r.analysis for r in a.records], a.clip.fps, blink_frames)


def _attack_suite(sources: list[Source], rng: np.random.Generator, quick: bool) -> Iterable[AttackClip]:
    """Every generated attack (see bench.attacks). Quick: one of each kind per source, fewer sources."""
    picked = sources[::2] if quick else sources
    turns_per_source = 1 if quick else 2
    for k, src in enumerate(picked):
        yield prints.print_moved(src, rng, close_up=k % 2 == 1)
        for j in range(turns_per_source):
            variant = prints.TURN_VARIANTS[(k + j) % len(prints.TURN_VARIANTS)]
            axis = "pitch" if (k + 2 * j) % 3 == 2 else "yaw"
            sign = 1.0 if rng.random() < 0.5 else -1.0
            yield prints.print_turn(src, rng, variant, axis, sign, close_up=(k + j) % 2 == 0)
        yield prints.eye_cover(src, rng, "flaps" if k % 2 == 0 else "strip", close_up=k % 4 >= 2)
        yield screens.screen_photo(src, rng, close_up=k % 2 == 1)
        for start, stop in _action_segments(src, limit=1):
            yield screens.screen_video(src, rng, start, stop, close_up=k % 2 == 0, handheld=k % 3 != 0)
    # Person switch: each source hands over to the next one after its first action.
    for k, a in enumerate(picked):
        b = picked[(k + 1) % len(picked)]
        if a is b:
            continue
        a_stop = _after_first_action(a)
        b_seg = _action_segments(b, limit=1)
        if a_stop is None or not b_seg:
            continue
        variant = ("cut", "aligned", "gap")[k % 3]
        yield splices.person_switch(a, a_stop, b, b_seg[0][0], b_seg[0][1], rng, variant)
    for src in picked:
        n = len(src.frames)
        span = min(n, int(WINDOW_S * src.fps))
        start = int(rng.integers(0, max(1, n - span + 1)))
        yield splices.injected_repeat(src, start, start + span, rng)
        yield splices.injected_reorder(src, start, start + span, rng)
        yield splices.injected_clock(src, start, start + span, rng)


def _suite_size(sources: list[Source], quick: bool) -> int:
    """About how many attacks `_attack_suite` yields (for the progress bar only)."""
    picked = sources[::2] if quick else sources
    return len(picked) * (5 + (1 if quick else 2)) + len(picked) * 3


def _action_segments(src: Source, limit: int) -> list[tuple[int, int]]:
    """Up to `limit` windows of about WINDOW_S seconds that contain at least one performed action."""
    live = LivenessSettings()
    acts = performed_actions(src.analyses, live)
    if not acts:
        return []
    span = int(WINDOW_S * src.fps)
    out: list[tuple[int, int]] = []
    times = [a.t_ms for a in src.analyses]
    for act in acts:
        centre = next((i for i, t in enumerate(times) if t >= act.onset_ms), len(times) - 1)
        start = max(0, min(centre - span // 3, len(times) - span))
        if out and start < out[-1][1]:
            continue
        out.append((start, min(len(times), start + span)))
        if len(out) >= limit:
            break
    return out


def _after_first_action(src: Source) -> int | None:
    acts = performed_actions(src.analyses, LivenessSettings())
    if not acts:
        return None
    end = acts[0].end_ms + 600.0
    return next((i for i, a in enumerate(src.analyses) if a.t_ms >= end), None)


# -- reports -------------------------------------------------------------------------------------


def write_reports(result: PadBenchResult, out_dir: Path) -> dict[str, Path]:
    """pad.json, pad.md and pad.png in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "pad.json", "markdown": out_dir / "pad.md", "plot": out_dir / "pad.png"}
    paths["json"].write_text(json.dumps(result.to_json(), indent=2, default=_jsonable))
    paths["markdown"].write_text(render_markdown(result))
    _plot(result, paths["plot"])
    return paths


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def _pct(r: dict[str, Any] | None) -> str:
    if not r or r.get("rate") is None:
        return "n/a"
    text = f"{100 * r['rate']:.1f}% ({r['errors']}/{r['n']}"
    if r.get("upper95") is not None:
        text += f", ≤{100 * r['upper95']:.0f}%"
    return text + ")"


def _simulated(rate: dict[str, Any]) -> str:
    return "n/a" if rate["rate"] is None else f"{100 * rate['rate']:.2f}%"


def render_markdown(result: PadBenchResult) -> str:
    rates = result.rates()
    lines = [
        "# Presentation-attack detection benchmark",
        "",
        f"Seed {result.seed}{' (quick)' if result.quick else ''}; {result.elapsed_s:.0f} s; "
        f"{result.started_at}. "
        "ISO/IEC 30107-3 terms: APCER = share of attack presentations accepted, BPCER = share of bona fide "
        "presentations rejected. In brackets: errors/presentations and the upper end of the 95 % confidence "
        "interval.",
        "",
        "## APCER per attack type",
        "",
        "| attack type | species | n | APCER, PAD alone | APCER, system offline (order matched) | "
        "APCER, video session (order matched, issued length) | "
        "APCER, system streaming (order matched) | APCER, system streaming (issued challenge) | "
        "checker passed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, a in rates["attacks"].items():
        n = a["apcer_pad"]["n"]
        lines.append(
            f"| {kind} | {a['species']} | {n} | {_pct(a['apcer_pad'])} | {_pct(a['apcer_system'])} | "
            f"{_pct(a['apcer_video_session'])} | {_simulated(a['apcer_streaming'])} | "
            f"{_simulated(a['apcer_streaming_issued'])} | "
            f"{a['checker_passed']} |"
        )
    lines += [
        "",
        f"**BPCER** (PAD, bona fide windows of {WINDOW_S:.0f} s): {_pct(rates['bpcer'])}",
        "",
        "## Signal contributions",
        "",
        "APCER (PAD alone) per species and BPCER with each signal removed, and with that signal alone.",
        "",
    ]
    species = sorted({ATTACK_TYPES[k][0] for k in rates["attacks"]})
    lines.append(
        "| signal | BPCER removed | "
        + " | ".join(f"{s} removed" for s in species)
        + " | BPCER alone | "
        + " | ".join(f"{s} alone" for s in species)
        + " |"
    )
    lines.append("|---" * (2 + 2 * len(species) + 1) + "|")
    for name, c in result.contributions().items():
        row = [name, _short(c["removed"]["bpcer"])]
        row += [_species_rate(c["removed"], s) for s in species]
        row += [_short(c["alone"]["bpcer"])]
        row += [_species_rate(c["alone"], s) for s in species]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## Calibration (leave one clip out)", ""]
    lines.append("| signal | setting | bona fide range | attack median | suggested threshold | LOO BPCER |")
    lines.append("|---|---|---|---|---|---|")
    for name, c in result.calibration().items():
        rng_text = (
            "n/a"
            if not c["bona_fide_range"]
            else f"{c['bona_fide_range'][0]:.3f} … {c['bona_fide_range'][1]:.3f}"
        )
        med = "n/a" if c["attack_median"] is None else f"{c['attack_median']:.3f}"
        sug = "n/a" if "suggested_threshold" not in c else f"{c['suggested_threshold']:.3f}"
        lines.append(
            f"| {name} | `{c['setting']}` | {rng_text} (n={c['bona_fide_n']}) | {med} (n={c['attack_n']}) | "
            f"{sug} | {_pct(c.get('loo_bpcer'))} |"
        )
    lines += [
        "",
        "## Presentations",
        "",
        "| presentation | type | frames | performed | checker | PAD reasons |",
        "|---|---|---|---|---|---|",
    ]
    for p in result.presentations:
        reasons = ", ".join(r.value for r in p.pad.reasons) or "-"
        checker = "" if p.checker_passed is None else ("pass" if p.checker_passed else "fail")
        lines.append(
            f"| {p.name} | {p.attack_type} | {p.frames} | {','.join(a.value for a in p.performed)} | "
            f"{checker} | {reasons} |"
        )
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes]
    lines += [
        "",
        "Per-frame cost in this run: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings_ms.items()),
    ]
    return "\n".join(lines) + "\n"


def _short(r: dict[str, Any]) -> str:
    return "n/a" if r["rate"] is None else f"{100 * r['rate']:.0f}%"


def _species_rate(rates: dict[str, Any], species: str) -> str:
    errors = sum(a["apcer_pad"]["errors"] for a in rates["attacks"].values() if a["species"] == species)
    n = sum(a["apcer_pad"]["n"] for a in rates["attacks"].values() if a["species"] == species)
    return "n/a" if n == 0 else f"{100 * errors / n:.0f}%"


def _plot(result: PadBenchResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = result.rates()
    kinds = list(rates["attacks"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
    x = np.arange(len(kinds) + 1)
    pad = [rates["attacks"][k]["apcer_pad"]["rate"] or 0 for k in kinds] + [rates["bpcer"]["rate"] or 0]
    system = [rates["attacks"][k]["apcer_system"]["rate"] or 0 for k in kinds] + [0]
    streaming = [rates["attacks"][k]["apcer_streaming"]["rate"] or 0 for k in kinds] + [0]
    issued = [rates["attacks"][k]["apcer_streaming_issued"]["rate"] or 0 for k in kinds] + [0]
    ax1.bar(x - 0.3, pad, 0.2, label="PAD alone", color="tab:orange")
    ax1.bar(x - 0.1, system, 0.2, label="system offline (checker, order matched)", color="tab:red")
    ax1.bar(x + 0.1, streaming, 0.2, label="system streaming, order matched (simulated)", color="tab:purple")
    ax1.bar(x + 0.3, issued, 0.2, label="system streaming, issued challenge (simulated)", color="tab:blue")
    ax1.axhline(0.01, color="k", lw=0.8, ls="--")
    ax1.axhline(0.05, color="tab:green", lw=0.8, ls=":")
    ax1.set_xticks(x, [*kinds, "BPCER"], rotation=40, ha="right", fontsize=8)
    ax1.set_ylabel("rate")
    ax1.set_title("APCER per attack type, BPCER (dashed: 1 %, dotted: 5 %)")
    ax1.legend(fontsize=8)
    names = [
        n
        for n in SIGNALS
        if any((s := p.pad.signal(n)) is not None and s.score is not None for p in result.presentations)
    ]
    for i, name in enumerate(names):
        for p in result.presentations:
            s = p.pad.signal(name)
            if s is None or s.score is None:
                continue
            jitter = (zlib.crc32(p.name.encode()) % 100) / 100 * 0.5 - 0.25  # deterministic spread
            ax2.scatter(
                i + jitter,
                max(s.score, 1e-3),
                s=8,
                alpha=0.6,
                color="tab:green" if not p.is_attack else "tab:red",
            )
    ax2.axhline(1.0, color="k", lw=0.8)
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax2.set_ylabel("score (≥ 1: attack)")
    ax2.set_title("Signal scores: green bona fide, red attacks")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
