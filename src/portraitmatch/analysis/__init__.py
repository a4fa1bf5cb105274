"""analysis: what is in a frame. Pure geometry (`geometry`), per-face quality gates (`quality`),
ID-portrait checks (`portrait`). The model that produces landmarks lives in adapters/models."""
