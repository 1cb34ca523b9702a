"""What every check shares: the failure type, calling the reader's function, comparing arrays.

A check takes the reader's function, runs it on small inputs whose answer is known (from the
book's reference implementation or from mathematics), and either prints one line that says what
was verified or raises :class:`CheckFailed` with a message that teaches: what was expected, what
came back, and where the two differ.

Three rules every check follows:

- tolerances follow the answer's precision (:func:`rtol_for`): a float32 answer is compared to about
  1e-5 of the values' scale, a float64 one to about 1e-7, and printed numbers carry as many digits as
  it takes to tell them apart (:func:`fmt_pair`);
- the reader's function gets copies of the inputs and must leave them as they were
  (:func:`call_unchanged` names the argument it changed in place);
- the book's own function is not graded as the reader's (:func:`refuse_reference`).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

__all__ = ["CheckFailed", "call", "call_unchanged", "passed", "expect_shape", "expect_close", "describe",
           "rtol_for", "fmt_pair", "refuse_reference"]

# relative tolerance by the precision of the answer: a few hundred ulps of the values' scale
RTOL = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-5}


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


def _arg_names(fn: Callable, n: int) -> list[str]:
    """The names of the first ``n`` positional parameters of ``fn`` (``argument 1``, ... if unknown)."""
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return (names + [f"argument {i + 1}" for i in range(len(names), n)])[:n]


def _snapshot(args: tuple, names: list[str], dict_arrays: bool) -> list[tuple[str, Any, np.ndarray]]:
    """(label, the array, a copy) for every array argument and, with ``dict_arrays``, every array
    (or tuple of arrays) stored in a dict argument."""
    saved = []
    for a, n in zip(args, names):
        if isinstance(a, np.ndarray):
            saved.append((f"`{n}`", a, a.copy()))
        elif dict_arrays and isinstance(a, dict):
            for k, v in a.items():
                if isinstance(v, np.ndarray):
                    saved.append((f"{n}[{k!r}]", v, v.copy()))
                elif isinstance(v, (tuple, list)):
                    saved += [(f"{n}[{k!r}][{i}]", x, x.copy()) for i, x in enumerate(v) if isinstance(x, np.ndarray)]
    return saved


def call_unchanged(fn: Callable, *args: Any, name: str | None = None, dict_arrays: bool = False,
                   **kwargs: Any) -> Any:
    """:func:`call`, then CheckFailed if ``fn`` changed an array argument in place (with ``dict_arrays``,
    also an array stored in a dict argument before the call, e.g. ``params['W']``), naming it."""
    name = name or getattr(fn, "__name__", "your function")
    names = _arg_names(fn, len(args)) if callable(fn) else []
    saved = _snapshot(args, names, dict_arrays)
    out = call(fn, *args, name=name, **kwargs)
    for label, arr, before in saved:
        if arr.shape != before.shape or not np.array_equal(arr, before, equal_nan=True):
            where = ""
            if arr.shape == before.shape:
                i = tuple(int(k) for k in np.argwhere(~((arr == before) | (arr != arr) & (before != before)))[0])
                b, a = fmt_pair(float(before[i]), float(arr[i]))
                where = f" (entry {i} was {b} before the call and is {a} after it)"
            var = label.strip("`")
            raise CheckFailed(
                f"{name} changed its argument {label} in place{where}. The caller's array must stay as it was: "
                f"a line such as `{var} -= ...`, `{var} *= ...`, `np.exp({var}, out={var})` or a shuffle of "
                f"{var} writes into it, and the caller's data is then wrong after your function returns. Compute "
                f"a new array instead (`{var} = {var} - m` makes a new one).")
    return out


def refuse_reference(fn: Callable, reference: Callable, name: str, where: str, check: str = "") -> None:
    """CheckFailed when the reader hands in the book's own function (``where``: ``nn``, ``ocr``, ...):
    a nudge to write one's own, not a lock (grading proper runs in ``python -m helpers grade``)."""
    if fn is reference:
        raise CheckFailed(f"{name}: this is the book's own {where}.{name}, so the check would grade the book, not "
                          f"you. Write your own {name} in the cell above (`def {name}(...):`), run that cell, and "
                          f"pass it: checks.{check or 'check_' + name}({name}).")


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
    try:
        arr = np.asarray(got)
    except ValueError:                         # a list of arrays of different shapes
        shapes = [np.shape(x) for x in got] if isinstance(got, (list, tuple)) else []
        raise CheckFailed(f"{name}: {what} should be one array of shape {tuple(shape)}; got a {type(got).__name__} "
                          f"of {len(shapes)} arrays of shapes {', '.join(map(str, shapes[:4]))}"
                          f"{', ...' if len(shapes) > 4 else ''}. Return only the final array.") from None
    if arr.shape != tuple(shape):
        raise CheckFailed(f"{name}: {what} should have shape {tuple(shape)} but has shape {arr.shape}.")
    return arr


def rtol_for(*arrays: Any) -> float:
    """The relative tolerance for an answer of the least precise float type among ``arrays``: about
    1e-5 for float32 (or float16), 1e-7 for float64 (and for anything that is not a float array)."""
    tol = RTOL[np.dtype(np.float64)]
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is not None and np.issubdtype(dt, np.floating) and dt.itemsize < 8:
            tol = max(tol, RTOL[np.dtype(np.float32)])
        elif dt is not None and dt == object:
            return rtol_for(*[x for x in np.ravel(a) if hasattr(x, "dtype")]) if np.size(a) else tol
    return tol


def fmt_pair(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """``a`` and ``b`` with at least ``digits`` significant digits, and more until they read differently
    (0.437823 and 0.437823 become 0.43782322 and 0.43782327)."""
    for d in range(digits, 18):
        sa, sb = f"{a:.{d}g}", f"{b:.{d}g}"
        if sa != sb or a == b:
            return sa, sb
    return repr(a), repr(b)


def expect_close(name: str, got: Any, expected: Any, *, what: str = "the result", rtol: float = 1e-7,
                 atol: float = 0.0, hint: str = "") -> np.ndarray:
    """``got`` equal to ``expected``, else CheckFailed listing the worst entries.

    An entry may differ by ``rtol * (|expected| + scale) + atol``, where scale is the largest
    |expected| (so that entries near 0 are judged against the size of the numbers around them) and
    ``rtol`` is at least :func:`rtol_for` the answer's precision: a float32 answer is held to about 1e-5,
    a float64 one to ``rtol``."""
    expected = np.asarray(expected, dtype=np.float64)
    raw = expect_shape(name, got, expected.shape, what)
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name}: {what} should hold numbers; got an array of {raw.dtype}.") from None
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[:3]
        first = tuple(int(i) for i in bad[0]) if arr.ndim else ()
        raise CheckFailed(f"{name}: {what} contains NaN or inf (first at index {first}); "
                          "look for exp of a large number or log of 0." + (f" {hint}" if hint else ""))
    rtol = max(rtol, rtol_for(raw))
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    err = np.abs(arr - expected)
    allowed = rtol * (np.abs(expected) + scale) + atol
    bad = err > allowed
    if bad.any():
        flagged = np.argwhere(bad) if err.ndim else np.zeros((1, 0), dtype=int)
        ratio = (err / np.maximum(allowed, 1e-300))[bad] if err.ndim else np.array([1.0])
        rows = []
        for k in np.argsort(ratio)[::-1][:3]:
            idx = tuple(int(i) for i in flagged[k])
            e, g = fmt_pair(float(expected[idx]), float(arr[idx]))
            rows.append(f"  at {idx}: expected {e}, got {g}")
        worst = float(err[bad].max())
        raise CheckFailed(f"{name}: {what} differs from the expected value in {int(bad.sum())} of {bad.size} "
                          f"entries (largest difference {worst:.3g}, relative {worst / max(scale, 1e-300):.2g} of "
                          f"the values' scale; allowed {rtol:.0e} for a {raw.dtype} answer):\n" + "\n".join(rows)
                          + (f"\n{hint}" if hint else ""))
    return arr
