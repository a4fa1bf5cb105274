"""Liveness benchmark: BPCER on bona fide clips, APCER on attack clips, with labelled dev data.

Each clip is analysed once (the real MediaPipe landmarker on the decoded video, or, as a fast dev
aid, the per-frame traces shipped with the dev set) and the `FrameAnalysis` list is kept in
memory; every challenge then runs the offline checker over that list.

* Bona fide clips: every challenge of 1..4 actions that the recording satisfies is checked, and all
  must pass. The labels say which: the clip's labelled actions (uncertain ones left out) in
  recording order, turned into the customer's directions (clips are taken as unmirrored, so
  ``yaw_image_right`` is ``turn_left``). A challenge fits when its actions occur in that order,
  a blink after a turn comes after the turn's peak, it is finished within the offline time limit,
  and no labelled turn of ``wrong_turn_deg`` or more is skipped before or between its actions (the
  checker rightly fails such a challenge with WRONG_ACTION: a live customer does not make a large
  head turn nobody asked for). Challenges that skip a turn within `AMBIGUITY_DEG` of that threshold
  are run and reported but not scored: the labels cannot say which way they should go.
* Attack clips (kind ``replay`` or ``print``): random challenges drawn as `issue_challenge` draws
  them. APCER is the share that pass, per attack kind; a pass is "explained" when the challenge
  fits the replayed recording by the rule above (skipped turns up to `AMBIGUITY_DEG` past the
  threshold allowed), i.e. its order happens to match. The exact APCER
  over the whole issued distribution is also given (every possible sequence, weighted by its
  probability).

BPCER and APCER are per challenge attempt (ISO/IEC 30107-3 counts presentations; here one
presentation is one clip checked against one challenge).
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from portraitmatch.config import LivenessSettings, Settings
from portraitmatch.errors import InputError
from portraitmatch.liveness.blink import Blink, BlinkDetector
from portraitmatch.liveness.challenge import issue_challenge
from portraitmatch.liveness.checker import LivenessChecker, Mode, blink_params
from portraitmatch.types import Action, Box, FaceObservation, FrameAnalysis, LivenessResult, Outcome

ATTACK_KINDS = ("replay", "print")
# Labelled peaks are measured from the clip's whole-recording neutral, the checker's from its own
# running estimate; they differ by a few degrees, so a turn this close to the wrong-action threshold
# may go either way.
AMBIGUITY_DEG = 3.0
MAX_BONA_FIDE_ACTIONS = 4
# Label event type → the customer's action on an unmirrored clip.
LABEL_ACTIONS: dict[str, Action] = {
    "blink": Action.BLINK,
    "yaw_image_right": Action.TURN_LEFT,
    "yaw_image_left": Action.TURN_RIGHT,
    "pitch_up": Action.LOOK_UP,
    "pitch_down": Action.LOOK_DOWN,
}


@dataclass(frozen=True, slots=True)
class LabelledAction:
    action: Action
    t_start_s: float  # blink: first closed frame; turn: first frame 10° past neutral
    t_key_s: float  # blink: minimum opening; turn: peak
    t_end_s: float  # blink: last closed frame; turn: last frame 10° past neutral
    peak_deg: float | None  # turns only
    uncertain: bool


@dataclass(frozen=True, slots=True)
class Clip:
    name: str  # "<folder>/<file stem>"
    path: Path
    kind: str
    fps: float
    width_px: int
    height_px: int
    duration_s: float
    actions: tuple[LabelledAction, ...]
    trace: Path | None
    unassessable: tuple[tuple[float, float], ...] = ()  # spans (s) where blinks are not scored


@dataclass(slots=True)
class ChallengeRun:
    challenge: tuple[str, ...]
    outcome: str
    reasons: tuple[str, ...]
    fits_recording: bool
    scored: bool = True  # False: a bona fide challenge the labels cannot settle (reported only)


@dataclass(frozen=True, slots=True)
class BlinkScore:
    """Blink detection against the labels: found / missed labelled blinks (uncertain ones left
    out), and detections where no blink was labelled (outside the spans the labels leave open)."""

    labelled: int
    found: int
    missed_s: tuple[float, ...]
    false_s: tuple[float, ...]


@dataclass(slots=True)
class ClipReport:
    name: str
    kind: str
    frames: int
    analysis_s: float
    runs: list[ChallengeRun] = field(default_factory=list)
    exact_pass_rate: float | None = None  # attacks: pass probability under the issued distribution
    exact_fit_rate: float | None = None  # attacks: probability that the challenge fits the recording
    blinks: BlinkScore | None = None

    @property
    def scored(self) -> list[ChallengeRun]:
        return [r for r in self.runs if r.scored]

    @property
    def passes(self) -> int:
        return sum(r.outcome == Outcome.PASS for r in self.scored)


# -- labels ---------------------------------------------------------------------------------------


def load_clips(labels_files: Iterable[Path]) -> list[Clip]:
    """Every video listed in the given ``labels.json`` files (paths relative to each file's folder)."""
    clips: list[Clip] = []
    for labels_file in labels_files:
        try:
            doc = json.loads(Path(labels_file).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read labels file {labels_file}: {exc}") from exc
        folder = Path(labels_file).parent
        for video in doc.get("videos", []):
            actions = tuple(
                sorted(
                    (a for a in (_labelled_action(e) for e in video.get("events", [])) if a is not None),
                    key=lambda a: a.t_start_s,
                )
            )
            trace = video.get("trace")
            clips.append(
                Clip(
                    name=f"{folder.name}/{Path(video['file']).stem}",
                    path=folder / video["file"],
                    kind=str(video["kind"]),
                    fps=float(video.get("fps") or 30.0),
                    width_px=int(video.get("frame_width") or 0),
                    height_px=int(video.get("frame_height") or 0),
                    duration_s=float(video.get("duration_s") or 0.0),
                    actions=actions,
                    trace=folder / trace if trace else None,
                    unassessable=tuple(
                        (float(u["t_start"]), float(u["t_end"])) for u in video.get("blink_unassessable", [])
                    ),
                )
            )
    return clips


def _labelled_action(event: dict) -> LabelledAction | None:
    action = LABEL_ACTIONS.get(event.get("type", ""))
    if action is None:
        return None  # winks, eyes_closed: never an action
    uncertain = bool(event.get("uncertain", False))
    if action is Action.BLINK:
        t = float(event["t"])
        start = float(event.get("t_closed_start", t))
        end = float(event.get("t_closed_end", t))
        return LabelledAction(action, start, t, end, None, uncertain)
    start, end = float(event["t_start"]), float(event["t_end"])
    return LabelledAction(
        action, start, float(event.get("t_peak", start)), end, float(event["peak_deg"]), uncertain
    )


def fits_recording(
    challenge: Sequence[Action],
    recorded: Sequence[LabelledAction],
    settings: LivenessSettings,
    *,
    tolerance_deg: float = 0.0,
) -> bool:
    """Does the recording perform `challenge` by the rule in the module docstring?

    A skipped labelled turn breaks the fit from ``wrong_turn_deg + tolerance_deg`` up. Greedy
    earliest matching is optimal here: taking a later match for an action could only add skipped
    events, never remove one.
    """
    limit_s = settings.action_timeout_s * len(challenge)
    i = 0
    previous: LabelledAction | None = None
    for wanted in challenge:
        found: LabelledAction | None = None
        while i < len(recorded):
            event = recorded[i]
            i += 1
            if event.action is wanted and not event.uncertain and _comes_after(event, previous):
                found = event
                break
            if (
                event.action is not Action.BLINK
                and (event.peak_deg or 0.0) >= settings.wrong_turn_deg + tolerance_deg
            ):
                return False  # a large turn nobody asked for
        if found is None or found.t_end_s > limit_s:
            return False
        previous = found
    return True


def _comes_after(event: LabelledAction, previous: LabelledAction | None) -> bool:
    if previous is None:
        return True
    if previous.action is Action.BLINK:
        return event.t_start_s > previous.t_end_s
    if event.action is Action.BLINK:
        return event.t_start_s >= previous.t_key_s  # a blink on the way back counts
    return event.t_start_s >= previous.t_end_s


def bona_fide_challenges(
    clip: Clip, settings: LivenessSettings, *, ambiguous: bool = False
) -> list[tuple[Action, ...]]:
    """Every challenge of 1..4 actions that `clip` clearly performs (repeats allowed, as explicit
    ones are): no skipped turn within `AMBIGUITY_DEG` of the wrong-action threshold.

    With ``ambiguous=True``: the challenges that fit only if such a turn may be skipped, whose
    expected outcome the labels cannot settle (they are reported, not scored).
    """
    present = sorted({a.action for a in clip.actions if not a.uncertain}, key=list(Action).index)
    out: list[tuple[Action, ...]] = []
    for length in range(1, MAX_BONA_FIDE_ACTIONS + 1):
        for candidate in itertools.product(present, repeat=length):
            clear = fits_recording(candidate, clip.actions, settings, tolerance_deg=-AMBIGUITY_DEG)
            if ambiguous:
                clear = not clear and fits_recording(
                    candidate, clip.actions, settings, tolerance_deg=AMBIGUITY_DEG
                )
            if clear:
                out.append(candidate)
    return out


def issued_distribution(settings: LivenessSettings) -> list[tuple[tuple[Action, ...], float]]:
    """Every sequence `issue_challenge` can draw, with its probability."""
    pool = list(dict.fromkeys(Action(a) for a in settings.actions))
    lengths = range(settings.min_actions, settings.max_actions + 1)
    out: list[tuple[tuple[Action, ...], float]] = []
    for length in lengths:
        for seq in itertools.product(pool, repeat=length):
            if any(a is b for a, b in itertools.pairwise(seq)):
                continue
            if settings.require_blink and Action.BLINK not in seq:
                continue
            out.append((seq, 1.0 / len(lengths) / (len(pool) * max(1, len(pool) - 1) ** (length - 1))))
    total = sum(p for _, p in out)  # rejection sampling renormalises what is left
    return [(seq, p / total) for seq, p in out]


# -- analysis -------------------------------------------------------------------------------------


def analyses_from_trace(clip: Clip) -> list[FrameAnalysis]:
    """FrameAnalysis per row of the clip's dev trace (a development aid; not the real model).

    The trace has no boxes or landmarks: the face gets a nominal centred box and no landmarks; a
    row with ``n_faces`` > 1 gets that many faces (the extra ones as boxes beside the first).
    """
    if clip.trace is None or not clip.trace.is_file():
        raise InputError(f"{clip.name} has no trace file")
    w, h = clip.width_px or 640, clip.height_px or 480
    side = 0.4 * min(w, h)
    box = Box(w / 2 - side / 2, h / 2 - side / 2, side, side)
    out: list[FrameAnalysis] = []
    with clip.trace.open(newline="") as f:
        for row in csv.DictReader(f):
            t_ms = float(row["t"]) * 1000
            faces: tuple[FaceObservation, ...] = ()
            if row["yaw_deg"] not in ("", None):
                face = FaceObservation(
                    box=box,
                    landmarks=np.zeros((0, 3), dtype=np.float32),
                    yaw_deg=float(row["yaw_deg"]),
                    pitch_deg=float(row["pitch_deg"]),
                    roll_deg=0.0,
                    ear_left=float(row["ear_left"]),
                    ear_right=float(row["ear_right"]),
                )
                n = max(1, int(row["n_faces"] or 1))
                extra = tuple(
                    FaceObservation(
                        box=Box(box.x + k * side * 1.2, box.y, side / 2, side / 2),
                        landmarks=np.zeros((0, 3), dtype=np.float32),
                        yaw_deg=0.0,
                        pitch_deg=0.0,
                        roll_deg=0.0,
                        ear_left=0.3,
                        ear_right=0.3,
                    )
                    for k in range(1, n)
                )
                faces = (face, *extra)
            out.append(FrameAnalysis(int(row["frame"]), t_ms, w, h, faces))
    return out


def analyses_from_model(clip: Clip, settings: Settings) -> list[FrameAnalysis]:
    """FrameAnalysis per decoded frame from the real MediaPipe landmarker."""
    from portraitmatch.adapters.models.mediapipe_landmarker import MediaPipeLandmarker
    from portraitmatch.capture.video import read_video

    limits = settings.limits
    with MediaPipeLandmarker.load(settings.quality) as landmarker:
        frames = read_video(
            clip.path,
            max_seconds=max(limits.max_video_seconds, clip.duration_s + 1),
            max_frames=max(limits.max_video_frames, int(clip.duration_s * clip.fps) + 10),
            max_frame_pixels=limits.max_frame_pixels,
        )
        return [landmarker.observe(frame) for frame in frames]


def detect_blinks(analyses: Sequence[FrameAnalysis], settings: LivenessSettings) -> list[Blink]:
    """Every blink the checker's detector finds in a clip, whatever the challenge."""
    detector = BlinkDetector(blink_params(settings))
    found: list[Blink] = []
    for analysis in analyses:
        blink = detector.observe(analysis.t_ms, analysis.primary)
        if blink is not None:
            found.append(blink)
    return found + detector.flush()


def score_blinks(clip: Clip, blinks: Sequence[Blink], *, slack_s: float = 0.1) -> BlinkScore:
    """Match detections to labelled blinks: a detection's closure must overlap the labelled closed
    span widened by `slack_s` (labels are ±1 frame)."""
    labelled = [a for a in clip.actions if a.action is Action.BLINK]
    matched: set[int] = set()
    false: list[float] = []
    for b in blinks:
        start, end = b.t_start_ms / 1000, b.t_end_ms / 1000
        hits = [
            i for i, a in enumerate(labelled) if start <= a.t_end_s + slack_s and end >= a.t_start_s - slack_s
        ]
        if hits:
            matched.update(hits)
        elif not any(
            lo - 2 * slack_s <= b.t_min_ms / 1000 <= hi + 2 * slack_s for lo, hi in clip.unassessable
        ):
            false.append(round(b.t_min_ms / 1000, 3))
    certain = [i for i, a in enumerate(labelled) if not a.uncertain]
    return BlinkScore(
        labelled=len(certain),
        found=sum(i in matched for i in certain),
        missed_s=tuple(labelled[i].t_key_s for i in certain if i not in matched),
        false_s=tuple(false),
    )


# -- running --------------------------------------------------------------------------------------


def check_offline(
    analyses: Sequence[FrameAnalysis], challenge: Sequence[Action], settings: LivenessSettings
) -> LivenessResult:
    """The offline checker over one analysed clip (clips are taken as unmirrored)."""
    start = analyses[0].t_ms if analyses else 0.0
    checker = LivenessChecker(challenge, settings, mode=Mode.OFFLINE, mirrored=False, start_ms=start)
    for analysis in analyses:
        if checker.is_finished:
            break
        checker.feed(analysis)
    end = analyses[-1].t_ms if analyses else start
    return checker.finish(end)


@dataclass(slots=True)
class BenchResult:
    source: str
    seed: int
    attack_challenges: int
    settings: dict
    clips: list[ClipReport]
    started_at: str
    elapsed_s: float
    frame_step: int = 1
    frame_offset: int = 0

    def summary(self) -> dict:
        bona = [c for c in self.clips if c.kind == "bona_fide"]
        runs = [r for c in bona for r in c.scored]
        rejected = [r for r in runs if r.outcome != Outcome.PASS]
        unscored = [r for c in bona for r in c.runs if not r.scored]
        out: dict = {
            "bona_fide": {
                "clips": len(bona),
                "challenges": len(runs),
                "rejected": len(rejected),
                "bpcer": len(rejected) / len(runs) if runs else None,
                "clips_with_a_rejection": sum(any(r.outcome != Outcome.PASS for r in c.scored) for c in bona),
                "ambiguous_challenges": len(unscored),
                "ambiguous_passed": sum(r.outcome == Outcome.PASS for r in unscored),
            },
            "attacks": {},
            "blinks_bona_fide": _blink_totals([c.blinks for c in bona if c.blinks]),
        }
        for kind in sorted({c.kind for c in self.clips if c.kind != "bona_fide"}):
            clips = [c for c in self.clips if c.kind == kind]
            kind_runs = [r for c in clips for r in c.runs]
            passed = [r for r in kind_runs if r.outcome == Outcome.PASS]
            exact = [c.exact_pass_rate for c in clips if c.exact_pass_rate is not None]
            fit = [c.exact_fit_rate for c in clips if c.exact_fit_rate is not None]
            out["attacks"][kind] = {
                "clips": len(clips),
                "challenges": len(kind_runs),
                "accepted": len(passed),
                "apcer": len(passed) / len(kind_runs) if kind_runs else None,
                "apcer_exact": float(np.mean(exact)) if exact else None,
                # What a checker that sees every labelled action would accept: the share of issued
                # challenges whose order the recordings contain.
                "apcer_order_bound": float(np.mean(fit)) if fit else None,
                "accepted_explained_by_order": sum(r.fits_recording for r in passed),
                "explained_fraction": (sum(r.fits_recording for r in passed) / len(passed))
                if passed
                else None,
            }
        return out

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "frame_step": self.frame_step,
            "frame_offset": self.frame_offset,
            "seed": self.seed,
            "attack_challenges": self.attack_challenges,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 2),
            "settings": self.settings,
            "summary": self.summary(),
            "clips": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "frames": c.frames,
                    "analysis_s": round(c.analysis_s, 2),
                    "challenges": len(c.scored),
                    "ambiguous_challenges": len(c.runs) - len(c.scored),
                    "passed": c.passes,
                    "exact_pass_rate": c.exact_pass_rate,
                    "exact_fit_rate": c.exact_fit_rate,
                    "blinks": asdict(c.blinks) if c.blinks else None,
                    "runs": [asdict(r) for r in c.runs],
                }
                for c in self.clips
            ],
        }


ProgressHook = Callable[[str, int, int], None]  # (stage, done, total)


def run_bench(
    clips: Sequence[Clip],
    settings: Settings,
    *,
    source: str = "model",
    attack_challenges: int = 200,
    seed: int = 0,
    frame_step: int = 1,
    frame_offset: int = 0,
    on_progress: ProgressHook | None = None,
) -> BenchResult:
    """Analyse each clip once, then run every challenge over it (see the module docstring).

    ``frame_step`` > 1 keeps every frame_step-th frame from ``frame_offset`` on: the same clips at a
    lower frame rate (2 turns 25-30 fps into the 12.5-15 fps the capture page streams)."""
    if source not in ("model", "traces"):
        raise ValueError("source must be 'model' or 'traces'")
    if frame_step < 1 or not 0 <= frame_offset < frame_step:
        raise ValueError("frame_step must be >= 1 and 0 <= frame_offset < frame_step")
    live = settings.liveness
    rng = random.Random(seed)
    distribution = issued_distribution(live)
    started = time.perf_counter()
    reports: list[ClipReport] = []
    for n, clip in enumerate(clips):
        if on_progress:
            on_progress(f"analysing {clip.name}", n, len(clips))
        t0 = time.perf_counter()
        analyses = analyses_from_trace(clip) if source == "traces" else analyses_from_model(clip, settings)
        analyses = analyses[frame_offset::frame_step]
        report = ClipReport(clip.name, clip.kind, len(analyses), time.perf_counter() - t0)
        report.blinks = score_blinks(clip, detect_blinks(analyses, live))
        unscored: set[tuple[Action, ...]] = set()
        if clip.kind == "bona_fide":
            unscored = set(bona_fide_challenges(clip, live, ambiguous=True))
            challenges = bona_fide_challenges(clip, live) + sorted(unscored, key=len)
        elif clip.kind in ATTACK_KINDS:
            challenges = [
                issue_challenge(live, rng=rng, now=datetime.now(UTC)).actions
                for _ in range(attack_challenges)
            ]
        else:
            challenges = []
        cache: dict[tuple[Action, ...], LivenessResult] = {}
        for m, challenge in enumerate(challenges):
            if on_progress:
                on_progress(f"checking {clip.name}", m, len(challenges))
            result = cache.get(challenge) or check_offline(analyses, challenge, live)
            cache[challenge] = result
            report.runs.append(
                ChallengeRun(
                    challenge=tuple(a.value for a in challenge),
                    outcome=result.outcome.value,
                    reasons=tuple(r.value for r in result.reasons),
                    fits_recording=fits_recording(challenge, clip.actions, live, tolerance_deg=AMBIGUITY_DEG),
                    scored=challenge not in unscored,
                )
            )
        if clip.kind in ATTACK_KINDS:
            report.exact_fit_rate = sum(
                p for seq, p in distribution if fits_recording(seq, clip.actions, live)
            )
            report.exact_pass_rate = sum(
                p
                for seq, p in distribution
                if (cache.get(seq) or _remember(cache, seq, check_offline(analyses, seq, live))).passed
            )
        reports.append(report)
    return BenchResult(
        source=source,
        seed=seed,
        frame_step=frame_step,
        frame_offset=frame_offset,
        attack_challenges=attack_challenges,
        settings=live.model_dump(mode="json"),
        clips=reports,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        elapsed_s=time.perf_counter() - started,
    )


def _remember(cache: dict, key: tuple[Action, ...], result: LivenessResult) -> LivenessResult:
    cache[key] = result
    return result


def _blink_totals(scores: Sequence[BlinkScore]) -> dict:
    labelled = sum(s.labelled for s in scores)
    found = sum(s.found for s in scores)
    return {
        "labelled": labelled,
        "found": found,
        "recall": found / labelled if labelled else None,
        "false_detections": sum(len(s.false_s) for s in scores),
    }


# -- reports --------------------------------------------------------------------------------------


def write_reports(result: BenchResult, out_dir: Path) -> dict[str, Path]:
    """liveness.json, liveness.md and liveness.png in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "liveness.json",
        "markdown": out_dir / "liveness.md",
        "plot": out_dir / "liveness.png",
    }
    paths["json"].write_text(json.dumps(result.to_json(), indent=2))
    paths["markdown"].write_text(render_markdown(result))
    _plot(result, paths["plot"])
    return paths


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def render_markdown(result: BenchResult) -> str:
    s = result.summary()
    b = s["bona_fide"]
    lines = [
        f"# Liveness benchmark ({result.source})",
        "",
        f"Analysis source: **{result.source}** "
        + ("(MediaPipe on the decoded clips)" if result.source == "model" else "(dev traces, not the model)")
        + (
            f"; one frame in {result.frame_step} kept, from frame {result.frame_offset} (a lower frame rate)"
            if result.frame_step > 1
            else ""
        )
        + f"; seed {result.seed}; {result.elapsed_s:.1f} s; {result.started_at}.",
        "",
        "## Summary",
        "",
        "| set | clips | challenges | errors | rate |",
        "|---|---|---|---|---|",
        f"| bona fide (BPCER) | {b['clips']} | {b['challenges']} | {b['rejected']} | {_pct(b['bpcer'])} |",
    ]
    for kind, a in s["attacks"].items():
        lines.append(
            f"| {kind} (APCER) | {a['clips']} | {a['challenges']} | {a['accepted']} | {_pct(a['apcer'])} "
            f"(exact over the issued distribution: {_pct(a['apcer_exact'])}; order bound:"
            f" {_pct(a['apcer_order_bound'])}) |"
        )
    bt = s["blinks_bona_fide"]
    lines += [
        "",
        f"Not scored: {b['ambiguous_challenges']} bona fide challenges that skip a labelled turn within"
        f" {AMBIGUITY_DEG:g}° of the wrong-action threshold ({b['ambiguous_passed']} passed).",
        "",
        f"Blink detection on the bona fide clips: {bt['found']} of {bt['labelled']} labelled blinks found"
        f" ({_pct(bt['recall'])}), {bt['false_detections']} detections where none was labelled.",
    ]
    lines += ["", "Attack passes explained by the challenge order matching the recording:", ""]
    for kind, a in s["attacks"].items():
        lines.append(
            f"- {kind}: {a['accepted_explained_by_order']} of {a['accepted']}"
            f" ({_pct(a['explained_fraction'])})"
        )
    lines += [
        "",
        "## Per clip",
        "",
        "| clip | kind | frames | challenges | passed | non-pass reasons | blinks | missed (s) | false (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result.clips:
        reasons: dict[str, int] = {}
        for r in c.scored:
            if r.outcome != Outcome.PASS:
                for reason in r.reasons:
                    reasons[reason] = reasons.get(reason, 0) + 1
        text = ", ".join(f"{k} ×{v}" for k, v in sorted(reasons.items())) or "-"
        bl = c.blinks
        blink_cells = "- | - | -"
        if bl:
            missed = ", ".join(map(str, bl.missed_s)) or "-"
            false = ", ".join(map(str, bl.false_s)) or "-"
            blink_cells = f"{bl.found}/{bl.labelled} | {missed} | {false}"
        lines.append(
            f"| {c.name} | {c.kind} | {c.frames} | {len(c.scored)} | {c.passes} | {text} | {blink_cells} |"
        )
    failures = [
        (c, r) for c in result.clips if c.kind == "bona_fide" for r in c.scored if r.outcome != Outcome.PASS
    ]
    if failures:
        lines += ["", "## Rejected bona fide challenges", ""]
        lines += [
            f"- {c.name}: `{','.join(r.challenge)}` → {r.outcome} {', '.join(r.reasons)}" for c, r in failures
        ]
    passes = [
        (c, r) for c in result.clips if c.kind != "bona_fide" for r in c.runs if r.outcome == Outcome.PASS
    ]
    if passes:
        lines += ["", "## Accepted attack challenges (distinct)", ""]
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for c, r in passes:
            if (c.name, r.challenge) not in seen:
                seen.add((c.name, r.challenge))
                how = "order fits the recording" if r.fits_recording else "NOT explained by the recording"
                lines.append(f"- {c.name}: `{','.join(r.challenge)}` ({how})")
    return "\n".join(lines) + "\n"


def _plot(result: BenchResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = [c for c in result.clips if c.scored]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(clips) + 2), 4))
    names = [c.name for c in clips]
    rates = [c.passes / len(c.scored) for c in clips]
    colours = ["tab:green" if c.kind == "bona_fide" else "tab:red" for c in clips]
    ax.bar(range(len(clips)), rates, color=colours)
    for x, c in enumerate(clips):
        ax.text(
            x,
            min(1.0, c.passes / len(c.scored)) + 0.02,
            f"{c.passes}/{len(c.scored)}",
            ha="center",
            fontsize=8,
        )
    ax.set_xticks(range(len(clips)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of challenges passed")
    ax.set_title(f"Liveness: pass rate per clip ({result.source}); green bona fide, red attack")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def default_labels(root: Path) -> list[Path]:
    """The ``labels.json`` of every folder under ``<root>/liveness``."""
    return sorted((root / "liveness").glob("*/labels.json"))
