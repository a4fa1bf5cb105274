"""Where the streaming prompt delay is configured, and what production refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from portraitmatch.config import LivenessSettings, PadSettings, Settings


def test_the_delay_range_is_checked() -> None:
    assert (LivenessSettings().prompt_delay_min_s, LivenessSettings().prompt_delay_max_s) == (0.8, 4.0)
    with pytest.raises(ValidationError, match="prompt_delay_max_s"):
        LivenessSettings(prompt_delay_min_s=2.0, prompt_delay_max_s=1.0)
    with pytest.raises(ValidationError):
        LivenessSettings(prompt_delay_min_s=-1.0)


def test_the_old_pad_keys_are_refused_not_ignored() -> None:
    with pytest.raises(ValidationError, match=r"moved to liveness\.prompt_delay_min_s"):
        PadSettings(prompt_delay_min_s=1.0)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="moved to liveness"):
        Settings(pad={"prompt_delay_max_s": 5.0})  # type: ignore[arg-type]


def test_production_refuses_a_predictable_delay() -> None:
    zero = LivenessSettings(prompt_delay_min_s=0, prompt_delay_max_s=0)
    assert Settings(environment="development", liveness=zero).liveness.prompt_delay_max_s == 0
    with pytest.raises(ValidationError, match="prompt_delay"):
        Settings(environment="production", liveness=zero)
    with pytest.raises(ValidationError, match="prompt_delay"):
        Settings(
            environment="production", liveness=LivenessSettings(prompt_delay_min_s=2, prompt_delay_max_s=2.5)
        )
    assert Settings(environment="production").liveness.prompt_delay_max_s == 4.0
