"""Head turns measured from the capture's own neutral pose.

MediaPipe's yaw and pitch are uncalibrated and a customer rarely faces the camera squarely, so a
turn is a *deviation* from the neutral pose of the same capture: the median of the first
``calibration_ms`` of face frames, then the median of every frame since that sat within
``neutral_band_deg`` of it while no turn was under way. The estimate settles as the capture goes on
(a customer who moved during the first half second is not stuck with that), but it cannot follow
a turn: a window of recent frames would, and a slow turn would then never get far from "neutral".

Angles are turned into the customer's own directions first: on a camera frame as delivered
(unmirrored), turning to one's own left moves the nose towards the image right (yaw > 0); on a
mirrored frame (a selfie preview) the sign flips. Pitch > 0 is nose up either way.

One excursion is followed at a time, in the direction that dominates when it starts:

* ``reached``: the deviation stayed at or beyond ``turn_deg`` for ``hold_ms``;
* ``clear``: it stayed at or beyond ``clear_deg`` for ``hold_ms``, a turn nobody makes by accident
  (used to call a wrong action);
* ``done``: the head came back from its peak, to at most ``return_fraction`` of the peak and at
  least ``min_return_deg`` below it. A blink on the way back therefore already counts as the next
  action, as people naturally blink while turning back.

After ``done`` no new excursion starts until the head is back within ``neutral_band_deg`` of neutral
on that axis (or past it): a second turn cannot be counted from the residue of the first, and a turn
left followed by a turn right must pass through neutral.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from portraitmatch.types import Action

TURN_ACTIONS: tuple[Action, ...] = (Action.TURN_LEFT, Action.TURN_RIGHT, Action.LOOK_UP, Action.LOOK_DOWN)


@dataclass(frozen=True, slots=True)
class TurnParams:
    turn_deg: float = 13.0
    clear_deg: float = 20.0
    neutral_band_deg: float = 8.0
    hold_ms: float = 50.0
    return_fraction: float = 0.7
    min_return_deg: float = 3.0
    calibration_ms: float = 500.0
    neutral_samples: int = 1800  # rest frames the neutral is the median of (a minute at 30 fps)
    neutral_refresh_ms: float = 100.0


class TurnPhase(StrEnum):
    REACHED = "reached"
    CLEAR = "clear"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class TurnEvent:
    phase: TurnPhase
    action: Action  # the customer's own direction
    t_ms: float  # when the phase was reached
    onset_ms: float  # first frame of the excursion beyond turn_deg
    peak_deg: float  # largest deviation so far
    excursion: int  # numbers the excursions of one capture, so phases can be matched up


@dataclass(frozen=True, slots=True)
class Deviation:
    lateral_deg: float  # > 0: towards the customer's own left
    pitch_deg: float  # > 0: up

    def towards(self, action: Action) -> float:
        if action is Action.TURN_LEFT:
            return self.lateral_deg
        if action is Action.TURN_RIGHT:
            return -self.lateral_deg
        if action is Action.LOOK_UP:
            return self.pitch_deg
        if action is Action.LOOK_DOWN:
            return -self.pitch_deg
        raise ValueError(f"{action} is not a head turn")

    def dominant(self) -> tuple[Action, float]:
        action = max(TURN_ACTIONS, key=self.towards)
        return action, self.towards(action)


class _Excursion:
    __slots__ = ("action", "clear_since", "id", "is_clear", "is_reached", "onset_ms", "peak_deg")

    def __init__(self, action: Action, t_ms: float, value: float, excursion_id: int) -> None:
        self.action = action
        self.id = excursion_id
        self.onset_ms = t_ms
        self.peak_deg = value
        self.is_reached = False
        self.is_clear = False
        self.clear_since: float | None = None


class TurnTracker:
    """Feed (t_ms, yaw_deg, pitch_deg) of every frame with a face, in time order; each `update`
    returns the turn events that frame produced."""

    def __init__(self, params: TurnParams | None = None, *, mirrored: bool = False) -> None:
        self.params = params or TurnParams()
        self.mirrored = mirrored
        self._first_ms: float | None = None
        self._calibration: list[tuple[float, float]] = []
        self._rest_lateral: deque[float] = deque(maxlen=self.params.neutral_samples)
        self._rest_pitch: deque[float] = deque(maxlen=self.params.neutral_samples)
        self._refreshed_ms = float("-inf")
        self._neutral: tuple[float, float] | None = None
        self._excursion: _Excursion | None = None
        self._returning: Action | None = None  # axis that must come back before the next excursion
        self._count = 0
        self.deviation: Deviation | None = None
        self.lateral_range = (0.0, 0.0)
        self.pitch_range = (0.0, 0.0)

    @property
    def neutral(self) -> tuple[float, float] | None:
        """(lateral, pitch) of the neutral pose in degrees, customer's terms; None while calibrating."""
        return self._neutral

    @property
    def is_calibrated(self) -> bool:
        return self._neutral is not None

    @property
    def is_armed(self) -> bool:
        """True when a new turn may start (the head is back from the previous one)."""
        return self._neutral is not None and self._excursion is None and self._returning is None

    @property
    def current(self) -> TurnEvent | None:
        """The excursion in progress once it has reached `turn_deg`, as a REACHED event."""
        e = self._excursion
        if e is None or not e.is_reached:
            return None
        return TurnEvent(TurnPhase.REACHED, e.action, e.onset_ms, e.onset_ms, e.peak_deg, e.id)

    @property
    def returning_from(self) -> Action | None:
        """The direction of the last turn while the head has not yet come back to neutral."""
        return self._returning

    def update(self, t_ms: float, yaw_deg: float, pitch_deg: float) -> list[TurnEvent]:
        lateral = -yaw_deg if self.mirrored else yaw_deg
        if self._neutral is None:
            self._calibrate(t_ms, lateral, pitch_deg)
            return []
        dev = Deviation(lateral - self._neutral[0], pitch_deg - self._neutral[1])
        self.deviation = dev
        lo, hi = self.lateral_range
        self.lateral_range = (min(lo, dev.lateral_deg), max(hi, dev.lateral_deg))
        lo, hi = self.pitch_range
        self.pitch_range = (min(lo, dev.pitch_deg), max(hi, dev.pitch_deg))
        p = self.params

        if self._returning is not None and dev.towards(self._returning) <= p.neutral_band_deg:
            self._returning = None
        if self._excursion is None and self._returning is None:
            if max(abs(dev.lateral_deg), abs(dev.pitch_deg)) <= p.neutral_band_deg:
                self._follow_rest(t_ms, lateral, pitch_deg)
            action, value = dev.dominant()
            if value >= p.turn_deg:
                self._count += 1
                self._excursion = _Excursion(action, t_ms, value, self._count)
            return []
        if self._excursion is None:
            return []
        return self._follow_excursion(self._excursion, t_ms, dev)

    def _follow_excursion(self, e: _Excursion, t_ms: float, dev: Deviation) -> list[TurnEvent]:
        p = self.params
        value = dev.towards(e.action)
        e.peak_deg = max(e.peak_deg, value)
        events: list[TurnEvent] = []
        if not e.is_reached:
            if value < p.turn_deg:
                self._excursion = None  # a flicker, not a turn
                return events
            if t_ms - e.onset_ms >= p.hold_ms:
                e.is_reached = True
                events.append(TurnEvent(TurnPhase.REACHED, e.action, t_ms, e.onset_ms, e.peak_deg, e.id))
        if e.is_reached and not e.is_clear:
            if value >= p.clear_deg:
                if e.clear_since is None:
                    e.clear_since = t_ms
                if t_ms - e.clear_since >= p.hold_ms:
                    e.is_clear = True
                    events.append(TurnEvent(TurnPhase.CLEAR, e.action, t_ms, e.onset_ms, e.peak_deg, e.id))
            else:
                e.clear_since = None
        other, other_value = dev.dominant()
        switched = other is not e.action and other_value >= p.turn_deg
        came_back = value <= min(p.return_fraction * e.peak_deg, e.peak_deg - p.min_return_deg)
        if e.is_reached and (came_back or switched):
            events.append(TurnEvent(TurnPhase.DONE, e.action, t_ms, e.onset_ms, e.peak_deg, e.id))
            self._excursion = None
            self._returning = e.action
            if value <= p.neutral_band_deg:
                self._returning = None
        return events

    def _calibrate(self, t_ms: float, lateral: float, pitch: float) -> None:
        if self._first_ms is None:
            self._first_ms = t_ms
        self._calibration.append((lateral, pitch))
        if t_ms - self._first_ms >= self.params.calibration_ms and len(self._calibration) >= 3:
            for lat, pit in self._calibration:
                self._rest_lateral.append(lat)
                self._rest_pitch.append(pit)
            self._refresh_neutral(t_ms)

    def _follow_rest(self, t_ms: float, lateral: float, pitch: float) -> None:
        self._rest_lateral.append(lateral)
        self._rest_pitch.append(pitch)
        if t_ms - self._refreshed_ms >= self.params.neutral_refresh_ms:
            self._refresh_neutral(t_ms)

    def _refresh_neutral(self, t_ms: float) -> None:
        self._refreshed_ms = t_ms
        self._neutral = (float(np.median(self._rest_lateral)), float(np.median(self._rest_pitch)))
