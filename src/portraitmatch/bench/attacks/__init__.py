"""Deterministic presentation-attack generators built from the dev clips (for `bench pad`).

Each generator takes analysed bona fide source clips (`Source`) and a seeded
`numpy.random.Generator`, and returns `AttackClip`s: either newly rendered frames (which the bench
then analyses with the real landmarker, exactly like a capture) or re-arranged frames of a source
whose analyses can be re-used (injection, splices). The same seed gives the same attacks.

Attack types (ISO/IEC 30107 calls each a PAI species; `species` groups them):

=================  ========  ================================================================
type               species   what the attacker does
=================  ========  ================================================================
print_moved        print     holds a printed photo up and moves it about
print_turn         print     tilts, folds or bends the photo to fake a head turn
eye_cover          print     covers the photo's eyes (strip, closed-eye flaps) to fake a blink
screen_photo       replay    shows a still photo on a phone/tablet
screen_video       replay    replays a recorded video (whose actions fit the challenge)
replay_real        replay    the real replay clips of the dev set (phone replays)
person_switch      switch    one person does the first step, another the rest
injected_repeat    injection frames injected with repeats (a padded/looped clip)
injected_reorder   injection frames injected out of order (an edited clip)
injected_clock     injection a recording pushed into a live stream faster than real time
=================  ========  ================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portraitmatch.types import Frame, FrameAnalysis

ATTACK_TYPES: dict[str, tuple[str, str]] = {
    "print_moved": ("print", "printed photo held up and moved"),
    "print_turn": ("print", "printed photo tilted, folded or bent to fake a head turn"),
    "eye_cover": ("print", "printed photo whose eyes are covered to fake a blink"),
    "screen_photo": ("replay", "still photo shown on a phone or tablet"),
    "screen_video": ("replay", "recorded video replayed on a screen; its actions fit the challenge"),
    "replay_real": ("replay", "real phone replays from the dev set"),
    "person_switch": ("switch", "a different person takes over between steps"),
    "injected_repeat": ("injection", "injected frames with repeated frames"),
    "injected_reorder": ("injection", "injected frames out of order"),
    "injected_clock": ("injection", "recording pushed into a live stream faster than real time"),
}


@dataclass(slots=True)
class Source:
    """A bona fide clip, decoded and analysed once."""

    name: str
    frames: list[Frame]
    analyses: list[FrameAnalysis]
    fps: float
    blink_frames: tuple[int, ...] = ()  # labelled blink minima (certain ones)


@dataclass(slots=True)
class AttackClip:
    name: str
    attack_type: str
    source: str
    frames: list[Frame]
    # Known analyses for frames that are re-used unchanged (None: analyse `frames` with the model).
    analyses: list[FrameAnalysis] | None = None
    streaming: bool = False
    arrival_ms: list[float] | None = None  # streaming: server clock at each frame's arrival
    notes: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def species(self) -> str:
        return ATTACK_TYPES[self.attack_type][0]


def smooth_path(
    rng: np.random.Generator, n: int, fps: float, amplitude: float, hz: tuple[float, float] = (0.2, 0.9)
) -> np.ndarray:
    """A smooth random hand-held wobble: the sum of three sinusoids, ``n`` samples, peak ~``amplitude``."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    for _ in range(3):
        out += np.sin(2 * np.pi * rng.uniform(*hz) * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.3, 1.0)
    peak = np.max(np.abs(out)) or 1.0
    return out / peak * amplitude


def frame_times(n: int, fps: float, start_ms: float = 0.0) -> list[float]:
    return [start_ms + k * 1000.0 / fps for k in range(n)]
