"""Step 4: lines, reading order and the gaps between words.

A photo is often turned by a few degrees, so the skew is estimated from the box centres first;
lines are then found in the levelled frame, and word gaps are measured along the tilted lines.
"""
from __future__ import annotations

import math

import numpy as np


def _centres(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cy, cx): (K,) float centres of (K, 4) boxes [y1, x1, y2, x2]."""
    return (boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0


def _rotate(cy: np.ndarray, cx: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(across, along): the centres in the frame turned by ``angle`` radians (levelled lines)."""
    return cy * math.cos(angle) - cx * math.sin(angle), cx * math.cos(angle) + cy * math.sin(angle)


def estimate_skew(boxes: np.ndarray, height: float, max_deg: float = 8.0) -> float:
    """The angle (radians) that makes the box centres fall on the fewest horizontal lines.

    boxes:  (K, 4) int [y1, x1, y2, x2] character boxes;  height: typical character height (pixels)
    Tries angles from -max_deg to max_deg degrees (steps of 0.25); for each, a histogram of the rotated centre heights with bins
    a third of a character tall; the sharpest histogram (largest sum of squared counts) wins.
    """
    if len(boxes) < 4:
        return 0.0
    cy, cx = _centres(boxes)
    bin_w = max(height / 3, 1.0)
    best, best_score = 0.0, -np.inf
    for a in np.deg2rad(np.linspace(-max_deg, max_deg, int(round(8 * max_deg)) + 1)):
        across = _rotate(cy, cx, a)[0]
        counts = np.bincount(((across - across.min()) / bin_w).astype(np.int64))
        score = float((counts.astype(np.float64) ** 2).sum()) - 1e-6 * abs(a)  # ties -> smallest angle
        if score > best_score:
            best, best_score = a, score
    return best


def group_lines(boxes: np.ndarray, height: float, line_gap: float = 0.6):
    """Sort character boxes into lines and reading order, allowing for a tilted page.

    boxes:    (K, 4) int [y1, x1, y2, x2] character boxes (y2, x2 exclusive), in any order
    height:   the typical character height (pixels)
    line_gap: centres more than this many heights apart (across the lines) start a new line
    Returns ``(order, line_of, angle)``: order (K,) int, the boxes in reading order (lines top to
    bottom, each left to right); line_of (K,) int, the line of each box (0 = top); angle, the skew
    in radians (:func:`estimate_skew`).
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0.0
    angle = estimate_skew(boxes, height)
    across, along = _rotate(*_centres(boxes), angle)  # the lines levelled
    by_height = np.argsort(across, kind="stable")
    new_line = np.r_[False, np.diff(across[by_height]) > line_gap * height]
    line_of = np.empty(len(boxes), np.int64)
    line_of[by_height] = np.cumsum(new_line)
    order = np.lexsort((along, line_of))
    return order, line_of, angle


def word_spaces(boxes: np.ndarray, line_of: np.ndarray, height: float, angle: float = 0.0,
                space_gap: float = 0.45, space_margin: float = 0.25) -> np.ndarray:
    """Which characters start a new word: True where a space precedes the character.

    boxes:   (K, 4) int [y1, x1, y2, x2] in reading order;  line_of: (K,) int line of each box
    height:  typical character height (pixels);  angle: the skew (radians) of :func:`group_lines`
    A gap to the left neighbour, in character heights of its line, is a space when it is wider than
    ``space_gap`` and wider than the line's own letter spacing plus ``space_margin``. The letter
    spacing is the lower quartile of the line's gaps (of the page's for a line with fewer than three
    gaps): a line of single digits, '8 6 7 5 309', has more word gaps than letter gaps, so its median
    gap is a word gap. A narrow character (an I, a 1) counts as at least 0.3 heights wide, so the
    paper beside its thin stroke is not taken for a word gap. Returns (K,) bool.
    """
    _, along = _rotate(*_centres(boxes), angle)
    gap = np.full(len(boxes), -np.inf)
    for ln in np.unique(line_of):
        idx = np.nonzero(line_of == ln)[0]
        h_line = max(float(np.median(boxes[idx, 2] - boxes[idx, 0])), 0.6 * height)
        half_w = np.maximum((boxes[idx, 3] - boxes[idx, 1]) / 2.0, 0.15 * h_line)
        gap[idx[1:]] = ((along[idx[1:]] - half_w[1:]) - (along[idx[:-1]] + half_w[:-1])) / h_line
    finite = gap[np.isfinite(gap)]
    page_spacing = float(np.percentile(finite, 25)) if len(finite) else 0.0
    space = np.zeros(len(boxes), bool)
    for ln in np.unique(line_of):
        g = gap[line_of == ln][1:]
        spacing = float(np.percentile(g, 25)) if len(g) >= 3 else page_spacing
        space[np.nonzero(line_of == ln)[0][1:]] = g > max(space_gap, spacing + space_margin)
    return space
