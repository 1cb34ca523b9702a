"""Checks for chapter 4: findLetters, line grouping, crops."""
from __future__ import annotations

from ._core import CheckFailed, call, expect_close, expect_shape, passed  # noqa: F401

__all__: list[str] = []
