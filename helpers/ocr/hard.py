"""Hard pages: the photos readers actually take, with known text, and a score that keeps finding
characters apart from reading them.

:func:`make_hard_pages` builds pages of ten kinds with :func:`.pages.make_test_page`:

- ``desk``      the sheet on a dark or wooden desk, turned 20-40 degrees, partly out of frame
- ``touching``  letters written touching (zero or negative spacing), as with a marker
- ``slanted``   clean print leaning right (shear 0.25-0.4)
- ``thin``      a thin pen on a large page (strokes 0.35-0.5 of the style's, small capitals)
- ``plain``     ordinary pages with the same texts, for comparison
- ``small``     the sheet covering about a quarter of the photo or less, on a large desk
- ``pen``       a pen lying across the page (where there is no text), with its shadow
- ``edge``      the edge of a second page in view along one side, casting a thin shadow
- ``digits``    lines of numbers whose digits touch inside a number ("1 2 34": 3 and 4 touch)
- ``wide``      words full of wide letters (M, N, W, U drawn 1.3-1.6 times as wide)

All kinds share one list of texts except ``digits`` and ``wide``, which have their own.
The texts hold lone letters (I, A) between words, and words that failed before (LOVE, MISSED, MAKE,
CHECK). :func:`evaluate_hard` reads them and reports, per kind, characters found against present
(detection) separately from character accuracy (recognition).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .. import config
from .evaluate import char_accuracy
from .pages import TestPage, make_test_page

HARD_KINDS = ("plain", "desk", "touching", "slanted", "thin", "small", "pen", "edge", "digits", "wide")

HARD_TEXTS = (
    "I LOVE IT", "I MISSED THE BUS", "MAKE A LIST", "CHECK IT OFF", "I AM A TEST", "LOVE AND LIGHT",
    "CALL ME AT 5", "BUY 2 EGGS", "READ A BOOK", "I SAW IT", "WE MISSED YOU", "MAKE TEA", "DEEP LEARNING",
    "CHECK THE MAIL", "ROOM 204", "A NAP",
)

DIGIT_TEXTS = ("1 2 34", "1234567890", "7 8 90", "12 34 56", "2024", "10 20 30", "555 1234", "4 15 2 96",
               "31 12 1999", "8 6 7 5 309")

WIDE_TEXTS = ("MUM", "WOMAN", "NEW MENU", "MINIMUM", "WHEN WE WON", "UNKNOWN", "NUMB", "SUMMER", "MOW NOW",
              "WARM WIND", "NUN", "MUNCH")


def hard_page_options(kind: str, rng: np.random.Generator) -> dict:
    """The :func:`make_test_page` options of one page of ``kind`` (see :data:`HARD_KINDS`)."""
    if kind == "plain":
        return {}
    if kind == "desk":
        return dict(desk=("dark", "wood")[int(rng.integers(2))],
                    desk_angle=float(rng.uniform(20, 40) * rng.choice([-1, 1])))
    if kind == "touching":
        return dict(spacing=float(rng.uniform(-0.06, 0.0)))
    if kind == "slanted":
        return dict(shear=float(rng.uniform(0.25, 0.4)))
    if kind == "thin":
        return dict(pen=float(rng.uniform(0.35, 0.5)), cap_height=float(rng.uniform(0.02, 0.03)))
    if kind == "small":
        return dict(desk=("dark", "wood")[int(rng.integers(2))], desk_angle=float(rng.uniform(5, 30) * rng.choice([-1, 1])),
                    desk_fill=0.5)
    if kind in ("pen", "edge"):
        return dict(clutter=kind, cap_height=float(rng.uniform(0.025, 0.035)))
    if kind == "digits":
        return dict(spacing=float(rng.uniform(-0.05, -0.01)))
    if kind == "wide":
        return dict(spacing=float(rng.uniform(0.1, 0.25)), wide=float(rng.uniform(1.3, 1.6)))
    raise ValueError(f"unknown kind {kind!r}; choose from {HARD_KINDS}")


def make_hard_pages(kinds: Sequence[str] = HARD_KINDS, per_kind: int = 3, size: tuple[int, int] = (3000, 4000),
                    seed: int = 0) -> list[tuple[str, TestPage]]:
    """``per_kind`` pages of each kind, as ``(kind, page)`` pairs; 3-5 lines from :data:`HARD_TEXTS` each.

    The same arguments give the same pages.
    """
    out = []
    for k, kind in enumerate(kinds):
        for i in range(per_kind):
            rng = np.random.default_rng([config.seeded(seed), k, i, 15])
            texts = DIGIT_TEXTS if kind == "digits" else WIDE_TEXTS if kind == "wide" else HARD_TEXTS
            idx = rng.choice(len(texts), size=int(rng.integers(3, 6)), replace=False)
            opts = hard_page_options(kind, rng)
            out.append((kind, make_test_page(1000 * seed + 10 * k + i, size, lines=[texts[j] for j in idx],
                                             **opts)))
    return out


def evaluate_hard(read_details: Callable, pages: Sequence[tuple[str, TestPage]]) -> list[dict]:
    """Read every page and score detection and recognition separately, one row per kind.

    read_details: ``f(image) -> PageReading`` (e.g. ``lambda im: read_page(im, classifier, details=True)``)
    Returns rows ``kind``, ``pages``, ``found`` (characters found), ``present`` (characters on the pages),
    ``found_ratio`` (found / present, 1.0 ideal), ``exact_pages`` (pages where found == present),
    ``outside`` (boxes outside the sheet, desk pages), ``extra_lines`` (lines read beyond the true ones,
    summed over pages: junk such as a pen read as text), ``char_accuracy`` (mean over pages), ``seconds``.
    """
    import time

    per: dict = {}
    for kind, page in pages:
        t = time.perf_counter()
        reading = read_details(page.image)
        dt = time.perf_counter() - t
        found, present = len(reading.layout.boxes), page.n_chars
        outside = 0
        if page.sheet is not None and found:
            b = reading.layout.boxes_full()
            cy = np.clip((b[:, 0] + b[:, 2]) // 2, 0, page.sheet.shape[0] - 1)
            cx = np.clip((b[:, 1] + b[:, 3]) // 2, 0, page.sheet.shape[1] - 1)
            outside = int((~page.sheet[cy, cx]).sum())
        r = per.setdefault(kind, dict(kind=kind, pages=0, found=0, present=0, exact_pages=0, outside=0, extra_lines=0,
                                      acc=[], sec=[]))
        r["extra_lines"] += max(0, len(reading.lines) - len(page.lines))
        r["pages"] += 1
        r["found"] += found
        r["present"] += present
        r["exact_pages"] += int(found == present)
        r["outside"] += outside
        r["acc"].append(char_accuracy(reading.lines, page.lines))
        r["sec"].append(dt)
    rows = []
    for r in per.values():
        acc, sec = r.pop("acc"), r.pop("sec")
        rows.append({**r, "found_ratio": r["found"] / max(r["present"], 1), "char_accuracy": float(np.mean(acc)),
                     "seconds": float(np.median(sec))})
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """The rows of :func:`evaluate_hard` as a plain-text table."""
    head = f"{'kind':10s} {'pages':>5s} {'found/present':>14s} {'exact':>6s} {'outside':>7s} {'char acc':>8s} {'s/page':>7s}"
    lines = [head]
    for r in rows:
        lines.append(f"{r['kind']:10s} {r['pages']:5d} {r['found']:6d}/{r['present']:<7d} {r['exact_pages']:6d} "
                     f"{r['outside']:7d} {r['char_accuracy']:8.3f} {r['seconds']:7.2f}")
    return "\n".join(lines)
