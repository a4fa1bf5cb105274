"""Settings: one pydantic-settings class, built once at the edge and passed down by section.

Environment variables use the prefix ``PORTRAITMATCH_`` and ``__`` between nested names, e.g.
``PORTRAITMATCH_LIVENESS__ACTION_TIMEOUT_S=8``. The core never reads the environment: it receives
the sub-section it needs (``settings.liveness`` …).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitsSettings(BaseModel):
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=40_000_000, gt=0)  # decompression-bomb guard
    max_video_seconds: float = Field(default=60.0, gt=0)
    max_video_frames: int = Field(default=1800, gt=0)
    max_frame_pixels: int = Field(default=4_000_000, gt=0)  # live frames are downscaled above this


class LivenessSettings(BaseModel):
    min_actions: int = Field(default=2, ge=1)
    max_actions: int = Field(default=4, ge=1)
    actions: tuple[str, ...] = ("blink", "turn_left", "turn_right")
    challenge_ttl_s: float = Field(default=120.0, gt=0)
    action_timeout_s: float = Field(default=10.0, gt=0)
    face_lost_max_s: float = Field(default=1.5, gt=0)

    @model_validator(mode="after")
    def _check_range(self) -> LivenessSettings:
        if self.max_actions < self.min_actions:
            raise ValueError("liveness.max_actions must be >= liveness.min_actions")
        return self


class MatchingSettings(BaseModel):
    calibration_file: Path | None = None  # None: the shipped default calibration
    max_live_frames: int = Field(default=5, ge=1)


class RetentionSettings(BaseModel):
    enabled: bool = False
    artefacts: tuple[str, ...] = ("id_portrait", "frames")
    frames_kept: int = Field(default=3, ge=0)
    days: int = Field(default=30, ge=1)


class KeySettings(BaseModel):
    provider: str = "file"  # file | env
    master_key_file: Path | None = None
    master_key_env: str = "PORTRAITMATCH_MASTER_KEY"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTRAITMATCH_", env_nested_delimiter="__", extra="ignore")

    environment: str = "development"  # development | production
    data_dir: Path = Path("portraitmatch-data")
    database_url: str | None = None  # None: SQLite file in data_dir
    workers: int = Field(default=2, ge=1)

    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    liveness: LivenessSettings = Field(default_factory=LivenessSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    keys: KeySettings = Field(default_factory=KeySettings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'portraitmatch.sqlite3').as_posix()}"
