"""Scores: how well a reading matches the truth, over many pages and under degradations.

:func:`char_accuracy` is 1 - edit distance / length of the true text (lines joined by newlines);
:func:`evaluate_reader` and :func:`degradation_curve` score readers on generated pages
(:func:`.pages.make_test_page`); :func:`char_correct` and :func:`confusions` look at single characters.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .pages import TestPage, make_test_page
from .reading import Classifier, PageReading, read_page


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1), row by row with numpy."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    ar = np.arange(len(b) + 1)
    prev = ar.copy()
    for i, ch in enumerate(a, 1):
        sub = prev[:-1] + (bb != ord(ch))
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, sub)
        # insertions: cur[j] = min(cur[j], cur[j - 1] + 1) as a running minimum
        cur = np.minimum.accumulate(cur - ar) + ar
        prev = cur
    return int(prev[-1])


def char_accuracy(pred_lines: Sequence[str], true_lines: Sequence[str]) -> float:
    """1 - (edit distance) / (length of the true text), at least 0.

    Both texts are the lines joined with newlines, so a missed or extra space, a split or merged
    line (a newline too many or too few) and a wrong, missing or extra character each cost 1.
    1.0 means a perfect reading.
    """
    truth = "\n".join(true_lines)
    pred = "\n".join(pred_lines)
    if not truth:
        return 1.0 if not pred else 0.0
    return max(0.0, 1.0 - edit_distance(pred, truth) / len(truth))


def line_count_correct(pred_lines: Sequence[str], true_lines: Sequence[str]) -> bool:
    """True when the reading has as many lines as the ground truth."""
    return len(pred_lines) == len(true_lines)


def evaluate_reader(reader: Callable[[np.ndarray], list], seeds: Sequence[int], size: tuple[int, int] = (3000, 4000),
                    pages: Sequence[TestPage] | None = None, **page_kw) -> list[dict]:
    """Read generated pages and score them: one dict per page with ``seed``, ``style``, ``ink``,
    ``n_lines`` (true), ``lines_read``, ``line_count_ok``, ``char_accuracy``, ``seconds``
    (reading time). Pass ``pages`` to reuse already generated pages (``seeds`` then label them)."""
    import time

    rows = []
    for i, seed in enumerate(seeds):
        page = pages[i] if pages is not None else make_test_page(seed, size, **page_kw)
        t = time.perf_counter()
        pred = reader(page.image)
        dt = time.perf_counter() - t
        rows.append({"seed": int(seed), "style": page.style, "ink": page.ink, "n_lines": len(page.lines),
                     "lines_read": len(pred), "line_count_ok": line_count_correct(pred, page.lines),
                     "char_accuracy": char_accuracy(pred, page.lines), "seconds": dt})
    return rows


def char_correct(reading: PageReading, true_lines: Sequence[str]) -> np.ndarray | None:
    """(K,) bool, each detected character right or wrong, when the detection count equals the true
    character count (then the k-th box is the k-th character); else None."""
    truth = "".join(true_lines).replace(" ", "")
    if len(truth) != len(reading.chars):
        return None
    return np.array([a == b for a, b in zip(reading.chars, truth)], dtype=bool)


def confusions(readings: Sequence[PageReading], true_lines: Sequence[Sequence[str]]) -> dict:
    """Count (true character, read character) pairs of the mistakes on pages where every character
    was found (so the k-th box is the k-th character); returns a dict sorted by count, largest first."""
    from collections import Counter

    counts: Counter = Counter()
    for reading, lines in zip(readings, true_lines):
        truth = "".join(lines).replace(" ", "")
        if len(truth) == len(reading.chars):
            counts.update((t, r) for t, r in zip(truth, reading.chars) if t != r)
    return dict(counts.most_common())


DEGRADATIONS: dict[str, tuple[str, list, str]] = {
    # name: (make_test_page argument, levels, axis label)
    "noise": ("noise", [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4], "noise sd (gray levels in [0, 1])"),
    "blur": ("blur", [0.0, 3.0, 6.0, 9.0, 12.0, 16.0, 24.0], "blur sigma (px of a 4000-px photo)"),
    "rotation": ("angle_deg", [0.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0], "rotation (degrees)"),
}


def degradation_curve(classifier: Classifier, kind: str, levels: Sequence[float], seeds: Sequence[int],
                      size: tuple[int, int] = (1200, 1600)) -> np.ndarray:
    """Mean character accuracy of :func:`read_page` on pages made with one degradation set to each
    level (``kind`` in :data:`DEGRADATIONS`); returns (len(levels),) accuracies."""
    arg = DEGRADATIONS[kind][0]
    out = []
    for level in levels:
        accs = []
        for seed in seeds:
            page = make_test_page(seed, size, **{arg: level})
            accs.append(char_accuracy(read_page(page.image, classifier), page.lines))
        out.append(float(np.mean(accs)))
    return np.array(out)
