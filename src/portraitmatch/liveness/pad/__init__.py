"""Presentation-attack detection (PAD): signals computed from the capture itself.

No anti-spoofing model with usable weights exists for this project, so the defence combines the
challenge protocol with signals we compute (docs/pad.md explains and measures each one):

=================== =========================== ==============================================
signal              reason                      evidence of an attack
=================== =========================== ==============================================
flat_motion         FLAT_SURFACE_MOTION         texture moves like a (bent) sheet in head turns
eye_cover           EYE_COVER_SUSPECTED         a "blink" changes the skin around the eyes too
medium_border       MEDIUM_BORDER_DETECTED      straight edges on 3+ sides of the face
recapture_texture   SCREEN_DETECTED             moiré/halftone peak in the face texture
stream              STREAM_INCONSISTENT         repeated frames, cuts, frame clock vs arrival
identity            FACE_CHANGED                the face's identity vector changes
pulse               NO_PULSE_DETECTED           no heart-beat colour change (off)
response_timing     RESPONSE_TIMING             actions not timed like reactions (streaming)
model               PAD_MODEL_REJECTED          an operator-supplied model says attack
=================== =========================== ==============================================

Pure core: numpy only, nothing here loads a model. The engine calls `measure_frame` on each
frame's pixels and feeds a `PadAccumulator`.
"""

from portraitmatch.liveness.pad.accumulator import SIGNALS, PadAccumulator
from portraitmatch.liveness.pad.measurements import EdgeEvidence, FrameMeasurements, measure_frame
from portraitmatch.liveness.pad.model import PadModel
from portraitmatch.liveness.pad.result import PadResult, SignalScore, combine

__all__ = [
    "SIGNALS",
    "EdgeEvidence",
    "FrameMeasurements",
    "PadAccumulator",
    "PadModel",
    "PadResult",
    "SignalScore",
    "combine",
    "measure_frame",
]
