"""Claims about measured outcomes: checked, recorded with their margin, and reported.

A chapter states two kinds of facts. An *invariant* (a shape, probabilities summing to 1, a
gradient check below 1e-7) holds for every seed on every machine and stays a plain ``assert``.
A *claim about an outcome* (an accuracy above a bound, A beating B, a count of dead units) comes
from a training run, which is chaotic: another seed or another CPU's rounding moves it. Such a
claim goes through :func:`claim`, which

- compares the measured value with its bound and fails with a message naming the claim;
- records the claim's id, value, bound and **margin** (how far the value is on the right side of
  the bound, in the value's own units), the mode and the seed;
- glues the record into the notebook's outputs (myst-nb ``glue``, not displayed), so the book build
  collects every claim from the executed notebooks, cached ones included (``_build/claims.json``,
  and the tightest margins on the results page), and appends it to ``BOOK_CLAIMS_LOG`` when set
  (the margin report, ``python -m helpers claims``).

``full_only=True`` marks a claim that quick budgets cannot show: in quick mode its value is
recorded but not checked. ``BOOK_CLAIMS=record`` records every claim without failing (the margin
report uses it to see all claims of a notebook, not only the first failure)::

    claim("ch3.mlp-valid-acc", valid_acc, ">=", 0.75, "the MLP reads three in four validation characters")
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from . import config

OPS = {">": lambda v, b: v > b, ">=": lambda v, b: v >= b, "<": lambda v, b: v < b, "<=": lambda v, b: v <= b}
GLUE_PREFIX = "claim:"

__all__ = ["Claim", "ClaimError", "claim", "records", "margin_of", "relative_margin", "spread", "OPS"]


class ClaimError(AssertionError):
    """A claim about a measured outcome does not hold (an AssertionError, so a failing cell fails the build)."""


@dataclass
class Claim:
    """One checked claim: ``value op bound``, e.g. ``0.823 >= 0.75``; ``margin`` = how far on the right side."""
    id: str
    text: str
    value: float
    op: str
    bound: float
    margin: float
    passed: bool | None          # None: recorded but not checked (a full-only claim in quick mode)
    mode: str = field(default_factory=config.mode)
    seed: int = field(default_factory=config.book_seed)
    notebook: str = ""
    time: float = field(default_factory=time.time)


_RECORDS: list[Claim] = []


def margin_of(value: float, op: str, bound: float) -> float:
    """How far ``value`` is on the right side of ``bound`` (negative when the claim fails):
    ``value - bound`` for ``>``/``>=``, ``bound - value`` for ``<``/``<=``."""
    return value - bound if op in (">", ">=") else bound - value


def relative_margin(c: Claim | dict) -> float:
    """The margin as a share of the larger of |bound| and |value| (to rank claims of different units)."""
    d = asdict(c) if isinstance(c, Claim) else c
    scale = max(abs(d["bound"]), abs(d["value"]), 1e-12)
    return d["margin"] / scale


def _number(value: Any, what: str, claim_id: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"claim {claim_id!r}: {what} must be a number, got {type(value).__name__} {value!r}") from None
    if math.isnan(x):
        raise ClaimError(f"claim {claim_id!r}: {what} is nan; the measurement behind it failed (a training run that "
                         "diverged, or an empty set)")
    return x


def _notebook() -> str:
    return os.environ.get("BOOK_NOTEBOOK", "")


def claim(claim_id: str, value: Any, op: str, bound: Any, text: str = "", *, full_only: bool = False) -> float:
    """Check and record the claim ``value op bound``; return ``value`` (as a float).

    claim_id: a stable, unique name, ``"<chapter>.<what>"`` (e.g. ``"ch4.context-helps.cnn"``).
    op: one of ``>``, ``>=``, ``<``, ``<=``. text: the claim in words, as the page states it.
    full_only: quick budgets cannot show this; in quick mode the value is recorded, not checked.
    Raises :class:`ClaimError` naming the claim, its value, its bound and the seed when it fails
    (unless ``BOOK_CLAIMS=record``).
    """
    if not isinstance(claim_id, str) or not claim_id.strip() or any(ch.isspace() for ch in claim_id):
        raise ValueError(f"claim: the id must be a non-empty name without spaces, got {claim_id!r}")
    if op not in OPS:
        raise ValueError(f"claim {claim_id!r}: op must be one of {sorted(OPS)}, got {op!r}")
    v, b = _number(value, "the measured value", claim_id), _number(bound, "the bound", claim_id)
    checked = not (full_only and config.is_quick())
    ok = bool(OPS[op](v, b))
    rec = Claim(claim_id, text, v, op, b, margin_of(v, op, b), ok if checked else None, notebook=_notebook())
    _RECORDS.append(rec)
    _publish(rec)
    if checked and not ok and os.environ.get("BOOK_CLAIMS", "check").strip().lower() != "record":
        raise ClaimError(
            f"claim {claim_id!r} does not hold{': ' + text if text else ''}\n"
            f"  measured {v:.6g}, needs {op} {b:.6g} (margin {rec.margin:+.4g}); BOOK_MODE={rec.mode}, "
            f"BOOK_SEED={rec.seed}.\n"
            "  A claim about a training outcome must hold for every seed and machine: measure its margin "
            "with `python -m helpers claims --seeds 0 1 2`, then restate it (over seeds, full mode only) or drop it.")
    return v


def spread(values, fmt: str = "{:.1%}") -> str:
    """A result measured over several seeds as the book prints it: ``"82.2% (80.9-83.0, 3 seeds)"``
    (mean, then range); one value prints alone."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("spread: no values")
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return fmt.format(mean)
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    return f"{fmt.format(mean)} ({lo.rstrip('%')}–{hi}, {len(vals)} seeds)"


def records() -> list[Claim]:
    """The claims made so far in this process (a notebook's kernel)."""
    return list(_RECORDS)


def _publish(rec: Claim) -> None:
    data = asdict(rec)
    log = os.environ.get("BOOK_CLAIMS_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:  # one line per claim: appends from one process stay whole
            fh.write(json.dumps(data) + "\n")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return  # plain Python: nothing to glue into
    from myst_nb import glue

    glue(GLUE_PREFIX + rec.id, _Record(data), display=False)


class _Record:
    """A claim as glued output: its JSON as the text (a glued mime bundle under myst-nb's prefix must be
    text to keep the notebook valid), read back by :func:`from_notebook`."""

    def __init__(self, data: dict):
        self.data = data

    def __repr__(self) -> str:
        return json.dumps(self.data)


def from_notebook(nb: dict) -> list[dict]:
    """The claim records glued into an executed notebook (a parsed ``.ipynb``), in cell order."""
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) or []:
            name = ((o.get("metadata") or {}).get("scrapbook") or {}).get("name", "")
            if not name.startswith(GLUE_PREFIX):
                continue
            data = o.get("data", {})
            text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
            try:
                rec = json.loads("".join(text) if isinstance(text, list) else text or "")
            except ValueError:
                continue
            if isinstance(rec, dict) and "id" in rec:
                out.append(rec)
    return out


def latest(recs: list[dict]) -> list[dict]:
    """One record per claim id (the last one made), in the order the ids first appear."""
    last: dict[str, dict] = {}
    for r in recs:
        last[r["id"]] = r   # a dict keeps the order in which keys were first inserted
    return list(last.values())
