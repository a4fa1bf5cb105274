"""Settings: one pydantic-settings class, built once at the edge and passed down by section.

Environment variables use the prefix ``PORTRAITMATCH_`` and ``__`` between nested names, e.g.
``PORTRAITMATCH_LIVENESS__ACTION_TIMEOUT_S=8``. The core never reads the environment: it receives
the sub-section it needs (``settings.liveness`` …).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitsSettings(BaseModel):
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=40_000_000, gt=0)  # decompression-bomb guard
    max_video_seconds: float = Field(default=60.0, gt=0)
    max_video_frames: int = Field(default=1800, gt=0)
    max_frame_pixels: int = Field(default=4_000_000, gt=0)  # live frames are downscaled above this


class QualitySettings(BaseModel):
    """Per-face quality gates for live frames (analysis/quality.py explains each default)."""

    min_face_px: float = Field(default=80.0, gt=0)  # sqrt(area) of the landmark box
    min_sharpness: float = Field(default=10.0, ge=0)  # Laplacian variance, 128x128 face at mean luma 100
    min_brightness: float = Field(default=30.0, ge=0, le=255)  # mean face luma
    max_brightness: float = Field(default=225.0, ge=0, le=255)
    max_overexposed_fraction: float = Field(default=0.25, ge=0, le=1)  # face pixels with luma >= 250
    max_centre_offset: float = Field(default=0.3, ge=0)  # face centre to frame centre / frame diagonal
    max_cut_off_fraction: float = Field(default=0.1, ge=0, le=1)  # share of the face box outside the frame
    min_eye_contrast: float = Field(default=0.03, ge=0)  # eye-patch luma std-dev / mean face luma

    @model_validator(mode="after")
    def _check_range(self) -> QualitySettings:
        if self.max_brightness <= self.min_brightness:
            raise ValueError("quality.max_brightness must be > quality.min_brightness")
        return self


class LivenessSettings(BaseModel):
    min_actions: int = Field(default=2, ge=1)
    max_actions: int = Field(default=4, ge=1)
    actions: tuple[str, ...] = ("blink", "turn_left", "turn_right")
    challenge_ttl_s: float = Field(default=120.0, gt=0)
    action_timeout_s: float = Field(default=10.0, gt=0)
    face_lost_max_s: float = Field(default=1.5, gt=0)
    require_blink: bool = True  # every issued challenge has a blink: a print or a still cannot blink
    # Checker thresholds; docs/liveness.md gives the measurements behind each default.
    turn_deg: float = Field(default=13.0, gt=0)  # deviation from the capture's neutral pose that is a turn
    wrong_turn_deg: float = Field(default=20.0, gt=0)  # a turn this large, not the one asked for, fails
    neutral_band_deg: float = Field(default=8.0, gt=0)  # this close to neutral = facing the camera again
    blink_max_closed_s: float = Field(default=0.8, gt=0)  # longer closures are not blinks
    multiple_faces_min_s: float = Field(default=0.4, gt=0)  # a second face must persist this long
    identity_min_cosine: float = Field(default=0.65, ge=-1, le=1)  # same face throughout (faceres scale)
    # Streaming: each prompt is withheld for a delay drawn by a CSPRNG from [min, max] seconds once the
    # previous action is done, so a recording cannot be timed to it (docs/pad.md, response timing).
    # A zero delay is for tests that stream a fixed clip; Settings refuses a spread < 1 s in production.
    prompt_delay_min_s: float = Field(default=0.8, ge=0)
    prompt_delay_max_s: float = Field(default=4.0, ge=0)

    @model_validator(mode="after")
    def _check_range(self) -> LivenessSettings:
        if self.max_actions < self.min_actions:
            raise ValueError("liveness.max_actions must be >= liveness.min_actions")
        if self.prompt_delay_max_s < self.prompt_delay_min_s:
            raise ValueError("liveness.prompt_delay_max_s must be >= liveness.prompt_delay_min_s")
        return self


class MatchingSettings(BaseModel):
    calibration_file: Path | None = None  # None: the shipped default calibration
    # Best live frames embedded for the match: 3 was the multi-frame setting measured in docs/calibration.md,
    # and each costs two dlib ResNet passes (mirror average) and one faceres pass.
    max_live_frames: int = Field(default=3, ge=1)
    # Worker processes for dlib's ResNet passes (0: in this process). dlib holds the GIL during a
    # pass, so threads cannot use a second core for it; 2 processes took the match of a 5 s
    # capture from ≈630 to ≈330 ms on the 2-core reference machine (docs/architecture.md).
    resnet_processes: int = Field(default=2, ge=0, le=64)


class RetentionSettings(BaseModel):
    enabled: bool = False
    artefacts: tuple[str, ...] = ("id_portrait", "frames")
    frames_kept: int = Field(default=3, ge=0)
    days: int = Field(default=30, ge=1)
    # legal retention of a holder's records after their last number is cancelled; then crypto-shredded
    days_after_last_cancellation: int = Field(default=365, ge=0)


class KeySettings(BaseModel):
    provider: str = "file"  # file | env
    master_key_file: Path | None = None
    master_key_env: str = "PORTRAITMATCH_MASTER_KEY"
    # Ed25519 key that signs the audit chain head and reports; never stored in the database
    signing_key_file: Path | None = None
    signing_key_env: str = "PORTRAITMATCH_SIGNING_KEY"
    audit_public_key_files: tuple[Path, ...] = ()  # keys `audit verify` trusts; default: the signer's own
    audit_sign_every_events: int = Field(default=100, ge=1)
    audit_sign_every_s: float = Field(default=300.0, gt=0)


class RegistrySettings(BaseModel):
    """Real-name registry rules and failure limits (registry/ explains each)."""

    max_numbers_per_document: int = Field(default=5, ge=1)
    cooling_days: float = Field(default=90.0, ge=0)  # a cancelled number rests this long before reuse
    session_use_window_s: float = Field(default=900.0, gt=0)  # a passed session backs one action this long
    reverification_days: float = Field(default=14.0, gt=0)  # default deadline for a flagged number
    max_failures: int = Field(default=5, ge=1)  # failed sessions per document and per device ...
    failure_window_s: float = Field(default=180.0, gt=0)  # ... within this window ...
    lockout_s: float = Field(default=900.0, gt=0)  # ... lock the subject out this long


class ServiceSettings(BaseModel):
    """The HTTP service: stream limits, background sweep, and a test-only challenge pin."""

    max_stream_frame_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    stream_idle_timeout_s: float = Field(default=20.0, gt=0)
    max_stream_frames: int = Field(default=3000, gt=0)
    sweep_interval_s: float = Field(default=30.0, gt=0)  # expiry/suspension sweep in each process
    timezone: str = "Asia/Shanghai"  # whose calendar decides when an ID document has expired
    # `video` sessions disclose their actions so that a recording can perform them, and so face a
    # recording made for them (docs/pad.md): an operator whose captures all stream can refuse them.
    allow_video_sessions: bool = True
    # Tests only: every session gets this challenge. Refused in production (see Settings).
    pinned_challenge: tuple[str, ...] = ()


class PadSettings(BaseModel):
    """Presentation-attack detection (liveness/pad/); docs/pad.md gives the measurements behind each
    default. Every signal flags an attack on its own; `disabled_signals` switches signals off by name."""

    enabled: bool = True
    disabled_signals: tuple[str, ...] = ("pulse",)
    # flat_motion: texture parallax at head turns (tracked patches / face size, at the turn's peak)
    flat_motion_eval_deg: float = Field(default=12.0, gt=0)
    # 0.042 with the phase-correlation tracker (up to the fifth session); see docs/pad.md, sixth session
    flat_motion_min_parallax: float = Field(default=0.035, ge=0)
    # eye_cover: pixel change around the eyes during a blink / between open frames around it. Bona
    # fide dev clips and 35 re-encodings (CRF 35/42, half size, 12 and 15 fps, darker with noise)
    # ≤ 1.82; x1.5 for safety (docs/pad.md, seventh session). Until the sixth session this was
    # `eye_cover_max_ring_change` (0.6), a region-mean measure that flagged no strip or flap.
    eye_cover_max_surround_ratio: float = Field(default=2.75, gt=0)
    # medium_border: share of frames with straight edges on 3+ sides of the face
    border_max_enclosed_fraction: float = Field(default=0.15, gt=0, le=1)
    # stream: cuts (scene jumps), repeated frames, camera clock against arrival clock
    stream_max_cuts: int = Field(default=0, ge=0)
    stream_max_repeated_fraction: float = Field(default=0.05, ge=0, le=1)
    stream_max_clock_drift_s: float = Field(default=2.0, gt=0)
    # frame_order: second-largest reversal ratio (a jump to a frame that belongs 4-16 frames away);
    # bona fide dev windows ≤ 2.27 (15 fps: ≤ 2.20), moved blocks of an edited recording 2-10
    frame_order_max_ratio: float = Field(default=3.0, gt=1)
    # identity: lowest cosine of a sampled identity vector to the capture's reference
    identity_min_cosine: float = Field(default=0.5, ge=-1, le=1)
    # recapture_texture: periodic (moire/halftone) peak in the face texture spectrum; bona fide dev
    # clips ≤ 8.5 as recorded and ≤ 9.5 re-encoded as JPEG down to quality 40 (docs/pad.md)
    recapture_max_peak: float = Field(default=30.0, gt=0)
    # pulse: rPPG spectral SNR, on captures at least this long
    pulse_min_capture_s: float = Field(default=8.0, gt=0)
    pulse_min_snr_db: float = Field(default=-3.0)
    # response_timing (streaming): the checker shows each prompt after a random delay
    # (liveness.prompt_delay_min_s/max_s); the action must begin within this window after it
    response_min_s: float = Field(default=0.3, ge=0)
    response_max_s: float = Field(default=3.0, gt=0)
    # operator-supplied ONNX anti-spoofing model (adapters/models/onnx_pad.py); None: not used
    model_file: Path | None = None
    model_sha256: str | None = None  # refuse the file unless it matches
    model_threshold: float = Field(default=0.5, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _moved_settings(cls, data: Any) -> Any:
        # Moved to the liveness section (the checker withholds the prompts): refuse rather than ignore.
        if isinstance(data, dict):
            moved = sorted({"prompt_delay_min_s", "prompt_delay_max_s"} & set(data))
            if moved:
                raise ValueError(f"pad.{moved[0]} moved to liveness.{moved[0]}")
        return data

    @model_validator(mode="after")
    def _check_range(self) -> PadSettings:
        if self.response_max_s <= self.response_min_s:
            raise ValueError("pad.response_max_s must be > pad.response_min_s")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTRAITMATCH_", env_nested_delimiter="__", extra="ignore")

    environment: str = "development"  # development | production
    data_dir: Path = Path("portraitmatch-data")
    database_url: str | None = None  # None: SQLite file in data_dir
    workers: int = Field(default=2, ge=1)

    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    liveness: LivenessSettings = Field(default_factory=LivenessSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    keys: KeySettings = Field(default_factory=KeySettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    pad: PadSettings = Field(default_factory=PadSettings)

    @model_validator(mode="after")
    def _refuse_pinned_challenge_in_production(self) -> Settings:
        if self.environment == "production" and self.service.pinned_challenge:
            raise ValueError("service.pinned_challenge is for tests only and is refused in production")
        live = self.liveness
        if self.environment == "production" and live.prompt_delay_max_s - live.prompt_delay_min_s < 1.0:
            # A fixed or near-fixed delay lets a recording be timed to the prompts (docs/pad.md).
            raise ValueError("liveness.prompt_delay_max_s - prompt_delay_min_s must be >= 1 s in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'portraitmatch.sqlite3').as_posix()}"
