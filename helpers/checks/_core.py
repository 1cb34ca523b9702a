"""What every check shares: the failure type, calling the reader's function, comparing arrays.

A check takes the reader's function, runs it on small inputs whose answer is known (from the
book's reference implementation or from mathematics), and either prints one line that says what
was verified or raises :class:`CheckFailed` with a message that teaches: what was expected, what
came back, and where the two differ.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["CheckFailed", "call", "passed", "expect_shape", "expect_close", "describe"]


class CheckFailed(AssertionError):
    """A reader's function gave a wrong answer; the message says what to look at."""


def call(fn: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, turning "not written yet" and crashes into a clear CheckFailed."""
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise CheckFailed(f"{name}: expected a function, got {type(fn).__name__}. Pass the function itself "
                          f"(check(my_fn)), not its result (check(my_fn(x))).")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not written yet: replace `raise NotImplementedError()` in the cell above "
                          f"with your code, run that cell, then run this check again.") from None
    except CheckFailed:
        raise
    except Exception as e:  # the reader's bug: show it as the check's finding, with the original below
        shapes = ", ".join(describe(a) for a in args)
        raise CheckFailed(f"{name}({shapes}) raised {type(e).__name__}: {e}") from e


def describe(a: Any) -> str:
    """A short description of an argument: ``array (4, 3) float64`` or the type name."""
    if isinstance(a, np.ndarray):
        return f"array {a.shape} {a.dtype}"
    if isinstance(a, dict):
        return "params"
    if isinstance(a, (int, float, str)):
        return repr(a)
    return type(a).__name__


def passed(name: str, what: str) -> None:
    """Print the one line a passing check shows."""
    print(f"\u2714 {name}: {what}")


def expect_shape(name: str, got: Any, shape: tuple, what: str = "the result") -> np.ndarray:
    """``got`` as an array of exactly ``shape``, or CheckFailed naming both shapes."""
    if got is None:
        raise CheckFailed(f"{name}: {what} is None; did the function forget to `return` it?")
    arr = np.asarray(got)
    if arr.shape != tuple(shape):
        raise CheckFailed(f"{name}: {what} should have shape {tuple(shape)} but has shape {arr.shape}.")
    return arr


def expect_close(name: str, got: Any, expected: Any, *, what: str = "the result", rtol: float = 1e-6,
                 atol: float = 1e-8, hint: str = "") -> np.ndarray:
    """``got`` equal to ``expected`` within tolerances, else CheckFailed listing the worst entries."""
    expected = np.asarray(expected, dtype=np.float64)
    arr = expect_shape(name, got, expected.shape, what).astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[:3]
        raise CheckFailed(f"{name}: {what} contains NaN or inf (first at index {tuple(int(i) for i in bad[0])}); "
                          "look for exp of a large number or log of 0." + (f" {hint}" if hint else ""))
    err = np.abs(arr - expected)
    bad = err > atol + rtol * np.abs(expected)
    if bad.any():
        worst = np.argsort(err, axis=None)[::-1][:3]
        rows = []
        for k in worst:
            idx = np.unravel_index(k, err.shape) if err.ndim else ()
            if err.ndim and not bad[idx]:
                break
            rows.append(f"  at {tuple(int(i) for i in idx)}: expected {float(expected[idx]):.6g}, "
                        f"got {float(arr[idx]):.6g}")
        raise CheckFailed(f"{name}: {what} differs from the expected value in {int(bad.sum())} of {bad.size} "
                          f"entries (largest difference {float(err.max()):.3g}):\n" + "\n".join(rows)
                          + (f"\n{hint}" if hint else ""))
    return arr
