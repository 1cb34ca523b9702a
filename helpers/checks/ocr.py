"""Checks for chapter 4: findLetters, line grouping, crops.

Every check runs on a small page generated with known text (360 x 480 pixels, three lines of
hand-printed capitals, :func:`helpers.ocr.make_test_page`) or on boxes laid out with known lines,
and teaches on failure: what was expected, what came back, and which slip explains the difference.

- :func:`check_findLetters`    ``findLetters(image (H, W, 3) uint8) -> (boxes (K, 4) [y1, x1, y2, x2],
                                bw (H, W) ink 0 (black), paper 1 (white))``
- :func:`check_group_lines`    ``group_lines(boxes (K, 4), height) -> (order (K,), line_of (K,))``:
                                reading order and the line (0 = top) of every box; ``skew=True`` adds a
                                page turned by ``SKEW_TILT`` (6) degrees
- :func:`check_prepare_crop`   ``prepare_crop(bw (H, W), box [y1, x1, y2, x2]) -> (32, 32)``, the
                                character centred on paper, ink dark, as the training images
- :func:`check_prepare_crops`  the book's ``prepare_crops(layout) -> (K, 32, 32)``, judged the same way

The true character boxes of the page come from the book's :func:`helpers.ocr.findLetters`, which
finds every character of this page (the check says so if that ever stops being true).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from ._core import CheckFailed, call, call_unchanged, passed, refuse_reference

__all__ = ["check_findLetters", "check_group_lines", "check_prepare_crop", "check_prepare_crops"]

# ----------------------------------------------------------------------------------------------
# The page every check reads: known text, no shadow, level, a little blur, noise and JPEG
# ----------------------------------------------------------------------------------------------
PAGE_LINES = ("MAKE A LIST", "QUIZ 1024", "WITH BOXES")
PAGE_SETTINGS = dict(seed=1, size=(360, 480), style="hand-kalam", ink="black", angle_deg=0.0, blur=1.0,
                     noise=0.02, jpeg_quality=85, shadow=False, cap_height=0.07)


@functools.lru_cache(maxsize=1)
def _page():
    """(page, boxes, bw, chars): the check page, its true character boxes (K, 4) in reading order,
    the book's binary image and, for each box, (character, line index)."""
    from .. import config, ocr

    with config.seeds_as_written():   # the same check page for every BOOK_SEED
        page = ocr.make_test_page(lines=list(PAGE_LINES), **PAGE_SETTINGS)
    boxes, bw = ocr.findLetters(page.image)
    chars = [(ch, ln) for ln, s in enumerate(page.lines) for ch in s if ch != " "]
    if len(boxes) != len(chars):
        raise RuntimeError(f"the check page has {len(chars)} characters but the book's findLetters finds "
                           f"{len(boxes)} boxes on it; helpers/checks/ocr.py needs a new page")
    boxes.flags.writeable = False
    bw.flags.writeable = False
    return page, boxes, bw, chars


def _name(chars: list, k: int, lines: tuple = PAGE_LINES) -> str:
    ch, ln = chars[k]
    return f"the {ch!r} of line {ln + 1} ({lines[ln]!r})"


def _names(chars: list, ks: Any, lines: tuple = PAGE_LINES) -> str:
    """'the 'M', 'A' and 'K' of line 1 ('MAKE A LIST')', characters grouped by line."""
    by_line: dict = {}
    for k in ks:
        by_line.setdefault(chars[k][1], []).append(repr(chars[k][0]))
    parts = []
    for ln, cs in by_line.items():
        listed = cs[0] if len(cs) == 1 else ", ".join(cs[:-1]) + " and " + cs[-1]
        parts.append(f"the {listed} of line {ln + 1} ({lines[ln]!r})")
    return "; ".join(parts)


def _fmt_box(b: Any) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in b) + "]"


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (n, 4) boxes a and (m, 4) boxes b, [y1, x1, y2, x2]: (n, m) intersection over union, the
    share of each b covered by each a, and the share of each a lying inside each b."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    h = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    w = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = h * w
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None] - inter
    return inter / np.maximum(union, 1e-9), inter / area_b[None], inter / np.maximum(area_a[:, None], 1e-9)


_FORMATS = {
    "x1y1x2y2": ("[x1, y1, x2, y2]: x (the column) comes first",
                 lambda b: b[:, [1, 0, 3, 2]]),
    "xywh": ("(x, y, width, height), as a plotting rectangle takes them",
             lambda b: np.c_[b[:, 1], b[:, 0], b[:, 1] + b[:, 3], b[:, 0] + b[:, 2]]),
    "yxhw": ("(y, x, height, width): a corner and the size",
             lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]]),
}


def _matched(boxes: np.ndarray, truth: np.ndarray) -> int:
    """How many true boxes have a box of ``boxes`` with intersection over union at least 0.5."""
    if len(boxes) == 0:
        return 0
    return int((_overlaps(boxes, truth)[0].max(axis=0) >= 0.5).sum())


# ----------------------------------------------------------------------------------------------
# findLetters
# ----------------------------------------------------------------------------------------------
def check_findLetters(findLetters: Callable) -> None:
    """findLetters(image) -> (boxes (K, 4) [y1, x1, y2, x2], bw (H, W) ink 0, paper 1): every character
    of a three-line page found once, nothing else, and the binary image the right way round."""
    from .. import ocr
    from ..ocr import homework

    refuse_reference(findLetters, ocr.findLetters, "findLetters", "ocr")
    refuse_reference(findLetters, homework.findLetters, "findLetters", "ocr.homework")
    page, truth, truth_bw, chars = _page()
    H, W = page.image.shape[:2]
    n = len(truth)
    out = call_unchanged(findLetters, page.image.copy(), name="findLetters")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = type(out).__name__ + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise CheckFailed(f"findLetters should return two things, (boxes, bw), like the homework's; got {got}.")
    first, bw = (np.asarray(x) for x in out)
    if first.shape == (H, W) and bw.ndim == 2 and bw.shape[-1] == 4:
        raise CheckFailed("findLetters returned (bw, boxes); the homework's order is (boxes, bw): "
                          "return bboxes, bw.")
    boxes = first
    where = f"findLetters on a {H}x{W} photo of {n} characters in {len(PAGE_LINES)} lines"
    # --- the boxes: shape, a box over the whole page, the coordinate format -------------------
    if boxes.size == 0:
        raise CheckFailed(f"{where}: no boxes at all. Is the ink found? Ink is dark, so the ink mask is "
                          "gray < threshold, and measure.label needs the ink as True (non-zero).")
    if boxes.ndim == 2 and boxes.shape[0] == 4 and boxes.shape[1] != 4:
        raise CheckFailed(f"{where}: boxes has shape {boxes.shape}, one box per column; return one box per row, "
                          f"shape (K, 4) (np.array(list_of_boxes), or transpose).")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise CheckFailed(f"{where}: boxes should have shape (K, 4), one [y1, x1, y2, x2] per character; got "
                          f"shape {boxes.shape}.")
    if not np.issubdtype(boxes.dtype, np.number):
        raise CheckFailed(f"{where}: boxes should hold numbers (pixel indices), got dtype {boxes.dtype}.")
    boxes = boxes.astype(np.float64)
    corners_area = np.abs(boxes[:, 2] - boxes[:, 0]) * np.abs(boxes[:, 3] - boxes[:, 1])
    if len(boxes) < n and corners_area.max() > 0.25 * H * W and _matched(boxes, truth) < n // 2:
        raise CheckFailed(f"{where}: one box, {_fmt_box(boxes[corners_area.argmax()])}, covers most of the page, "
                          f"and only {len(boxes)} boxes came back. That is the paper found as one big component: "
                          "the threshold is the wrong way round. Ink is dark, so ink = gray < threshold; give "
                          "measure.label the ink (True on the strokes).")
    found = _matched(boxes, truth)
    if found < n // 2:
        for fmt, (what, convert) in _FORMATS.items():
            if _matched(convert(boxes), truth) >= 0.8 * n:
                raise CheckFailed(f"{where}: your boxes are {what}; the homework's are [y1, x1, y2, x2], the row "
                                  f"first, then the column, y2 and x2 the far corner (regionprops' bbox gives exactly "
                                  f"that). Your first box is {_fmt_box(boxes[0])}.")
    iou, covers, inside = _overlaps(boxes, truth)
    # --- one box for each character: merged, split, missing, specks ---------------------------
    multi = [i for i in range(len(boxes)) if (covers[i] >= 0.6).sum() >= 2]
    if multi:
        i = multi[0]
        held = np.nonzero(covers[i] >= 0.6)[0]
        names = _names(chars, held[:4])
        raise CheckFailed(f"{where}: {len(multi)} of your boxes hold more than one character; the box "
                          f"{_fmt_box(boxes[i])} holds {len(held)}: {names}. Neighbouring letters have merged "
                          "into one component: a closing or dilation wider than the gap between letters joins them "
                          "(keep it to a radius of a pixel or two), and so does a threshold that thickens the "
                          "strokes a lot.")
    best = iou.max(axis=0)
    missing = np.nonzero(best < 0.5)[0]
    pieces = {int(k): np.nonzero((inside[:, k] >= 0.8) & (iou[:, k] < 0.5))[0] for k in missing}
    split = [k for k, p in pieces.items() if len(p) >= 2]
    if split:
        k = split[0]
        many = f"{len(split)} characters come" if len(split) > 1 else "1 character comes"
        raise CheckFailed(f"{where}: {many} out in pieces; {_name(chars, k)} has "
                          f"{len(pieces[k])} boxes, {', '.join(_fmt_box(boxes[i]) for i in pieces[k][:3])}, instead "
                          f"of one, {_fmt_box(truth[k])}. Its strokes are broken: a small closing "
                          "(morphology.closing with disk(1) or disk(2)) mends them, or smooth the gray image a little "
                          "before the threshold.")
    if len(missing):
        raise CheckFailed(f"{where}: found {n - len(missing)} of {n} characters; no box fits "
                          f"{_names(chars, missing[:4])}{' and more' if len(missing) > 4 else ''} (the true box of the "
                          f"first is {_fmt_box(truth[missing[0]])}). Check the threshold (ink is dark: "
                          "ink = gray < threshold, Otsu's on the gray image is a good start) and the size filter: "
                          "it should drop specks, not letters (compare each area with the median area).")
    good = iou.max(axis=1) >= 0.5
    extra = np.nonzero(~good)[0]
    if len(extra):
        area = int(corners_area[extra[0]])
        typical = int(np.median((truth[:, 2] - truth[:, 0]) * (truth[:, 3] - truth[:, 1])))
        raise CheckFailed(f"{where}: all {n} characters were found, but {len(extra)} more boxes hold no character, "
                          f"e.g. {_fmt_box(boxes[extra[0]])}, a box of {area} pixel{'' if area == 1 else 's'} (a "
                          f"character's box here has about {typical}). "
                          "They are specks of noise or paper texture: drop components much smaller than a typical "
                          "character (morphology.remove_small_objects, or keep areas above a fraction of the median "
                          "area).")
    twice = [k for k in range(n) if (iou[:, k] >= 0.5).sum() > 1]
    if twice:
        raise CheckFailed(f"{where}: {_name(chars, twice[0])} has {(iou[:, twice[0]] >= 0.5).sum()} boxes; every "
                          "character should have exactly one.")
    # --- the far corner: one past the last pixel, as regionprops gives it ----------------------
    d = boxes[iou.argmax(axis=0)] - truth            # edges of each character's box against the true ones
    skew_y, skew_x = float((d[:, 0] + d[:, 2]).mean()), float((d[:, 1] + d[:, 3]).mean())
    if abs(skew_y) > 0.6 and abs(skew_x) > 0.6 and skew_y * skew_x > 0:
        short = skew_y < 0
        way, fix = ("short of", "do not subtract 1") if short else ("beyond", "do not add 1")
        raise CheckFailed(f"{where}: the boxes' far edges (y2, x2) sit about one pixel {way} "
                          f"the true ones while the near edges (y1, x1) match (on average {d[:, 2].mean():+.2f} and "
                          f"{d[:, 3].mean():+.2f} pixels against {d[:, 0].mean():+.2f} and {d[:, 1].mean():+.2f}). "
                          "y2 and x2 are one past the last pixel, exactly as regionprops' bbox gives them, so that "
                          f"bw[y1:y2, x1:x2] holds the whole character: {fix}.")
    # --- the binary image ------------------------------------------------------------------------
    if bw.shape != (H, W):
        extra_hint = " (one channel: the image is binary, not RGB)" if bw.shape[:2] == (H, W) else ""
        raise CheckFailed(f"{where}: bw should have the photo's shape ({H}, {W}), so that the boxes index it; got "
                          f"{bw.shape}{extra_hint}.")
    values = np.unique(bw.astype(np.float64)) if bw.dtype != bool else np.unique(bw).astype(np.float64)
    if values.size > 2 or not set(values.tolist()) <= {0.0, 1.0}:
        if set(values.tolist()) <= {0.0, 255.0}:
            hint = "it holds 0 and 255: divide by 255 (or return the boolean mask's negation as float)"
        else:
            hint = (f"it holds {values.size} different values between {values.min():g} and {values.max():g}: "
                    "return the thresholded image, not the gray levels")
        raise CheckFailed(f"{where}: bw should be binary, 0 for ink (black) and 1 for paper (white); {hint}.")
    ink = truth_bw == 0
    mine = bw.astype(np.float64)
    ink_black, ink_white, paper_white = (mine[ink] == 0).mean(), (mine[ink] == 1).mean(), (mine[~ink] == 1).mean()
    if ink_white > 0.5 and paper_white < 0.5:
        raise CheckFailed(f"{where}: bw is inverted: {100 * ink_white:.0f}% of the ink is 1 (white) and "
                          f"{100 * (1 - paper_white):.0f}% of the paper is 0 (black). The homework's convention is ink "
                          "black (0) and paper white (1), like the training images: return 1 - ink "
                          "((~ink).astype(float)).")
    if ink_black < 0.6 or paper_white < 0.98:
        raise CheckFailed(f"{where}: bw should be 0 on the ink and 1 on the paper; yours is 0 on "
                          f"{100 * ink_black:.0f}% of the strokes and 1 on {100 * paper_white:.1f}% of the paper. "
                          "Return the same ink mask your boxes come from, as 1 - ink.")
    passed("findLetters", f"{n} of {n} characters, one [y1, x1, y2, x2] box each, nothing merged or split, no specks; "
                          f"bw ({H}, {W}) with ink 0 and paper 1")


# ----------------------------------------------------------------------------------------------
# Lines and reading order
# ----------------------------------------------------------------------------------------------
ROW_LINES = ("TO DO LIST", "MAKE A QUIZ", "CHECK 42 BOXES")
ROW_TILT = 1.0     # degrees: the level page is tilted a little, as a hand-held photo is
SKEW_LINES = ("2 CHECK OFF THE FIRST", "THING ON TO DO LIST", "3 REALIZE YOU HAVE ALREADY")
SKEW_TILT = 6.0    # degrees: enough to mix long lines when the skew is not estimated
SMALL_LINES = ("TO DO", "BUY MILK", "CALL BOB", "QUIZ AT 9", "GYM")   # 5 lines of small print ...
SMALL_HEIGHT = 8.0
LARGE_LINES = ("HELLO", "WORLD 42")                                # ... and 2 of large: no count or gap is fixed
LARGE_HEIGHT = 55.0
_WIDTH = {"I": 0.25, "1": 0.3, "J": 0.5, "M": 0.95, "W": 1.05, "Q": 0.8, "O": 0.8}


def row_boxes(lines: tuple, tilt_deg: float, seed: int = 0, height: float = 30.0):
    """Character boxes of ``lines`` as a hand prints them, (K, 4) int64 [y1, x1, y2, x2] in reading
    order, with the character and line of each box: widths by letter (an I narrow, a W wide), heights
    within 10%, a wobble of the hand up and down, a Q's tail below the line, and lines rising to the
    right by ``tilt_deg`` degrees, two character heights apart."""
    rng = np.random.default_rng(seed)
    t = math.tan(math.radians(tilt_deg))
    boxes, chars = [], []
    for ln, text in enumerate(lines):
        x = 40 + rng.uniform(0, 0.5) * height
        for ch in text:
            if ch == " ":
                x += 0.7 * height
                continue
            w = height * _WIDTH.get(ch, 0.7) * rng.uniform(0.9, 1.1)
            h = height * rng.uniform(0.9, 1.1)
            top = 100 + 2.0 * height * ln + rng.normal(0, 0.06 * height) - (x + w / 2) * t
            bottom = top + h + (0.3 * height if ch == "Q" else 0.0)
            boxes.append([top, x, bottom, x + w])
            chars.append((ch, ln))
            x += w + height * rng.uniform(0.15, 0.3)
    boxes = np.array(boxes)
    boxes[:, [0, 2]] += max(0.0, 10 - boxes[:, 0].min())  # a tilted page rises to the right: keep y >= 10
    return np.round(boxes).astype(np.int64), chars


def _two_arrays(out: Any, where: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = [np.size(x) if np.ndim(x) else -1 for x in out] if isinstance(out, (tuple, list)) else []
    if sizes and sum(sizes) == k and all(n > 0 for n in sizes) and k > 2:
        raise CheckFailed(f"{where} returned {len(out)} groups of boxes (rows); it should return (order, line_of): "
                          "order lists the box indices row after row (np.concatenate of your rows), line_of gives "
                          "each box its row number (0 = top).")
    if not isinstance(out, (tuple, list)) or len(out) not in (2, 3):
        raise CheckFailed(f"{where} should return (order, line_of): two arrays of {k} integers; got "
                          f"{type(out).__name__}{f' of length {len(out)}' if isinstance(out, (tuple, list)) else ''}. "
                          "If you built a list of rows, turn it into the two arrays: order lists the box indices "
                          "row after row, line_of gives each box its row number.")
    arrays = []
    for name, x in zip(("order", "line_of"), out[:2]):
        try:
            a = np.asarray(x)
        except ValueError:
            a = np.asarray(x, dtype=object)
        if a.shape != (k,) or not (np.issubdtype(a.dtype, np.integer)
                                   or (np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a)))):
            raise CheckFailed(f"{where}: {name} should be {k} integers, one per box (shape ({k},)); got shape "
                              f"{a.shape}, dtype {a.dtype}.")
        arrays.append(a.astype(np.int64))
    return arrays[0], arrays[1]


def _lines(n: int) -> str:
    return f"{n} line" + ("" if n == 1 else "s")


def _lines_text(chars: list, idx: np.ndarray, line_of: np.ndarray) -> list[str]:
    """The characters of ``idx`` (reading order) split where ``line_of`` changes."""
    rows: list[str] = []
    last = None
    for i in idx:
        if line_of[i] != last:
            rows.append("")
            last = line_of[i]
        rows[-1] += chars[i][0]
    return rows


def _judge_rows(fn: Callable, lines: tuple, tilt_deg: float, seed: int, prefix: str = "", hint: str = "",
                height: float = 30.0) -> int:
    boxes, chars0 = row_boxes(lines, tilt_deg, seed, height)
    k = len(boxes)
    perm = np.random.default_rng(seed + 1).permutation(k)  # the reader gets the boxes in a random order
    shuffled, chars = boxes[perm], [chars0[i] for i in perm]
    true_line = np.array([c[1] for c in chars])
    expected = np.argsort(perm)  # order[j] = position in the shuffled list of the j-th character
    height = float(np.median(boxes[:, 2] - boxes[:, 0]))
    where = (f"{prefix}group_lines on {k} boxes of {len(lines)} lines, given in a random order "
             f"(height = {height:g})")
    order, line_of = _two_arrays(call_unchanged(fn, shuffled.copy(), height, name="group_lines"), where, k)

    def fail(finding: str, advice: str = "") -> CheckFailed:
        # on the tilted page the advice for a level page would mislead: the hint replaces it
        return CheckFailed(f"{where}: {finding}" + (f" {hint}" if hint else f" {advice}" if advice else ""))

    if sorted(order.tolist()) != list(range(k)):
        if np.array_equal(np.sort(order), np.sort(line_of)) or order.max(initial=0) < len(lines):
            raise fail("order looks like line numbers; order must list the indices of the boxes in reading "
                       "order (every index 0..K-1 once), line_of the line of each box.")
        raise fail(f"order must hold every box index 0..{k - 1} exactly once (boxes[order] is the page in "
                   f"reading order); yours has {len(set(order.tolist()))} different values between "
                   f"{order.min()} and {order.max()}.")
    truth_text = [s.replace(" ", "") for s in lines]
    # the lines: a line split in two, lines merged, the wrong numbering
    for ln, text in enumerate(lines):
        theirs = np.unique(line_of[true_line == ln])
        if len(theirs) > 1:
            parts = ["".join(chars[i][0] for i in expected if true_line[i] == ln and line_of[i] == t) for t in theirs]
            raise fail(f"line {ln + 1}, {text!r}, is split into {len(theirs)} lines ({' / '.join(map(repr, parts))}); "
                       f"you found {_lines(len(np.unique(line_of)))}, the page has {len(lines)}.",
                       "Within one line the box centres move up and down (letters differ in height, a Q's tail hangs "
                       "below, the hand wobbles, the page may be tilted a little): start a new line only where the "
                       "sorted centres jump by a good part of a character height (say more than half of height), not "
                       "by a few pixels.")
    for t in np.unique(line_of):
        mixed = np.unique(true_line[line_of == t])
        if len(mixed) > 1:
            raise fail(f"your line {t} holds characters of {len(mixed)} lines of the page "
                       f"({', '.join(repr(lines[m]) for m in mixed)}); you found {_lines(len(np.unique(line_of)))}, "
                       f"the page has {len(lines)}.",
                       "Lines are about two character heights apart: sort the boxes by the y of their centres, "
                       "(y1 + y2) / 2 from columns 0 and 2, and start a new line where consecutive centres differ by "
                       "more than about half a character height.")
    numbers = [int(line_of[true_line == ln][0]) for ln in range(len(lines))]
    if numbers != list(range(len(lines))):
        if numbers == list(range(len(lines)))[::-1]:
            raise fail(f"the lines are numbered bottom to top (line_of of the top line is {numbers[0]}); line 0 "
                       "is the top line: y (the row) grows downwards in an image.")
        raise fail(f"line_of should number the lines 0, 1, 2, ... from the top; the page's lines got the numbers "
                   f"{numbers}.")
    # the order: ranks instead of indices, lines out of order, each line left to right
    if not np.array_equal(order, expected):
        if np.array_equal(np.argsort(order), expected):
            raise fail("order gives each box its position in reading order (a rank); it should list the indices "
                       "of the boxes in reading order, so that boxes[order] reads the page (np.argsort of your "
                       "array, or np.lexsort((x_centre, line_of)) directly).")
        read = _lines_text(chars, order, line_of)
        if sorted(line_of[order].tolist()) != line_of[order].tolist():
            raise fail(f"in your order the lines come as {[int(v) for v in dict.fromkeys(line_of[order].tolist())]}; "
                       "list the top line (0) first, then line 1, ... ; your order reads "
                       f"{' / '.join(map(repr, read))}.")
        for ln, (got, want) in enumerate(zip(read, truth_text)):
            if got != want:
                if got == want[::-1]:
                    raise fail(f"line {ln + 1} reads {got!r} instead of {want!r}: right to left. Sort each line by the "
                               "x of the box centres, smallest first.")
                raise fail(f"line {ln + 1} reads {got!r} in your order instead of {want!r}. Within a line, sort by "
                           "the x of the box centres (columns 1 and 3), not by y: the tops and bottoms of one line "
                           "differ from letter to letter. np.lexsort((x_centre, line_of)) sorts by line, then by x.")
    return k


def check_group_lines(group_lines: Callable, skew: bool = False) -> None:
    """group_lines(boxes (K, 4), height) -> (order (K,), line_of (K,)): three lines of shuffled boxes
    (letters of different sizes, a Q's tail, a wobbling hand, a ``ROW_TILT`` degree tilt) in reading
    order; with ``skew``, also three long lines on a page turned by ``SKEW_TILT`` degrees. Two more pages,
    of other sizes and numbers of lines (``SMALL_LINES``, ``LARGE_LINES``), make sure that nothing is fixed
    to the first page: the number of lines, or a gap in pixels that ignores ``height``."""
    from .. import ocr
    from ..ocr import homework

    refuse_reference(group_lines, ocr.group_lines, "group_lines", "ocr")
    refuse_reference(group_lines, homework.group_lines, "group_lines", "ocr.homework")
    k = _judge_rows(group_lines, ROW_LINES, ROW_TILT, seed=0)
    for lines, h, seed in ((SMALL_LINES, SMALL_HEIGHT, 4), (LARGE_LINES, LARGE_HEIGHT, 6)):
        _judge_rows(group_lines, lines, ROW_TILT, seed=seed, height=h,
                    prefix=f"on a page of {len(lines)} lines of characters about {h:g} pixels high: ",
                    hint=f"Your function read the first page ({len(ROW_LINES)} lines, height 30) right, so something "
                         "in it is fixed to that page: start a new line where the sorted centres jump by a fraction "
                         "of `height` (about half), not by a number of pixels, and let the jumps decide how many "
                         "lines there are.")
    what = (f"{len(ROW_LINES)} lines of {k} shuffled boxes (letters of different sizes, a Q's tail, a wobbling "
            f"hand, a {ROW_TILT:g}° tilt) in reading order, numbered from the top")
    if skew:
        boxes, _ = row_boxes(SKEW_LINES, SKEW_TILT, seed=2)
        drift = (boxes[:, 3].max() - boxes[:, 1].min()) * math.tan(math.radians(SKEW_TILT))
        hint = (f"Across a line of this page the centres drift by about {drift:.0f} pixels, more than the "
                f"{2 * 30:.0f} pixels between lines: sorting the centres by height mixes the lines. Estimate the "
                "skew first and group in the levelled frame (step 4).")
        k2 = _judge_rows(group_lines, SKEW_LINES, SKEW_TILT, seed=2, prefix=f"on a page turned by {SKEW_TILT:g}°: ",
                         hint=hint)
        what += f"; also {len(SKEW_LINES)} long lines ({k2} boxes) on a page turned by {SKEW_TILT:g}°"
    what += (f"; also {len(SMALL_LINES)} lines of small print and {len(LARGE_LINES)} of large (height "
             f"{SMALL_HEIGHT:g} and {LARGE_HEIGHT:g})")
    passed("group_lines", what)


# ----------------------------------------------------------------------------------------------
# Crops like the training images
# ----------------------------------------------------------------------------------------------
def _training_sizes() -> tuple[float, float]:
    from ..data import PARAMS

    lo, hi = PARAMS["size"]
    return float(lo), float(hi)


def _ink_shape(ink: np.ndarray) -> np.ndarray:
    """(16, 16) ink amount of a character's ink box stretched to a square: its shape, whatever the
    size, margin or aspect of the image it was cut from."""
    from ..ocr.images import resize

    return resize(np.asarray(ink, np.float32), (16, 16), "bilinear")


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-12))


def _judge_crop(where: str, crop: Any, box: np.ndarray, bw: np.ndarray) -> int:
    """Raise CheckFailed unless ``crop`` is a (32, 32) training-like image of the character in
    ``box`` of ``bw`` (ink 0, paper 1); returns the larger side of its ink in the crop."""
    crop = np.asarray(crop)
    if crop.shape != (32, 32):
        if crop.size == 1024:
            raise CheckFailed(f"{where}: the crop has shape {crop.shape}; return the (32, 32) image (flattening "
                              "to 1024 values comes when a batch goes into the network).")
        if crop.ndim == 3 and crop.shape[:2] == (32, 32):
            raise CheckFailed(f"{where}: the crop has shape {crop.shape}; return one gray channel, (32, 32).")
        if crop.ndim == 2 and crop.shape[0] != crop.shape[1]:
            raise CheckFailed(f"{where}: the crop has shape {crop.shape}, not square: pad the shorter side with paper "
                              "to a square, then resize to (32, 32).")
        raise CheckFailed(f"{where}: the crop should be 32x32 like the training images; got shape {crop.shape}. "
                          "Resize the padded square to (32, 32) (skimage.transform.resize).")
    crop = crop.astype(np.float64)
    if not np.isfinite(crop).all():
        raise CheckFailed(f"{where}: the crop contains NaN or inf.")
    if crop.max() > 1.5:
        raise CheckFailed(f"{where}: the crop's values go up to {crop.max():g}; the training images are in [0, 1] "
                          "(paper 1, ink 0): divide by 255.")
    if crop.min() < -0.01 or crop.max() > 1.01:
        raise CheckFailed(f"{where}: the crop's values lie in [{crop.min():.3g}, {crop.max():.3g}]; keep them in "
                          "[0, 1] (paper 1, ink 0).")
    border = np.r_[crop[:2].ravel(), crop[-2:].ravel(), crop[:, :2].ravel(), crop[:, -2:].ravel()]
    if np.median(border) < 0.5:
        raise CheckFailed(f"{where}: the crop is light ink on a dark background (its border is about "
                          f"{np.median(border):.2f}). The training images are dark ink (0) on white paper (1), and the "
                          "network has learned that: crop bw (ink 0, paper 1), not the ink mask, and pad with 1.")
    ink = crop < 0.5
    if not ink.any():
        raise CheckFailed(f"{where}: the crop holds no ink (its darkest pixel is {crop.min():.2f}). Did you cut "
                          "bw[y1:y2, x1:x2] with the box [y1, x1, y2, x2]? Rows (y) come first.")
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    r1, r2, c1, c2 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = max(r2 - r1, c2 - c1)
    lo, hi = _training_sizes()
    if side > hi:
        raise CheckFailed(f"{where}: the character fills the crop to its edge (its ink is {r2 - r1}x{c2 - c1} of 32x32 "
                          f"pixels). The training characters keep a thin margin: the larger side of their ink is "
                          f"{lo:g} to {hi:g} of 32. Pad the square with a little paper before resizing (a tenth "
                          f"of the box's larger side, so that it takes {(lo + hi) / 2:g} of 32 pixels).")
    if side < lo - 4:
        raise CheckFailed(f"{where}: the character is only {r2 - r1}x{c2 - c1} of 32x32 pixels; the larger side of "
                          f"the training characters' ink is {lo:g} to {hi:g}. Pad less.")
    h, w = float(box[2] - box[0]), float(box[3] - box[1])
    aspect_box, aspect_crop = math.log(h / w), math.log((r2 - r1) / (c2 - c1))
    if abs(aspect_box) > 0.5 and abs(aspect_crop - aspect_box) > 0.5:
        if abs(aspect_crop + aspect_box) < 0.35:
            raise CheckFailed(f"{where}: the character lies on its side: its box is {h:g} tall and {w:g} wide, but its "
                              f"ink in the crop is {r2 - r1} tall and {c2 - c1} wide (transposed). Keep the crop "
                              "upright (the NIST36 rows are stored transposed, the book's images are not).")
        raise CheckFailed(f"{where}: the character is stretched: its box is {h:g} tall and {w:g} wide, but its ink in "
                          f"the crop is {r2 - r1} tall and {c2 - c1} wide. Pad the box to a square first, then resize, "
                          "so that an I stays thin and an M wide, as in the training images.")
    cy, cx = (r1 + r2 - 1) / 2, (c1 + c2 - 1) / 2
    if max(abs(cy - 15.5), abs(cx - 15.5)) > 2.5:
        raise CheckFailed(f"{where}: the character is not centred: the middle of its ink is at row {cy:.1f}, column "
                          f"{cx:.1f}, the training characters' at (15.5, 15.5). Pad both sides by the same amount "
                          "(half the difference each).")
    y1, x1, y2, x2 = (int(v) for v in box)
    reference = _ink_shape(1.0 - bw[y1:y2, x1:x2])
    amount = _ink_shape(1.0 - crop[r1:r2, c1:c2])
    c = _corr(amount, reference)
    if c < 0.5:
        flips = {"comes out upside down": reference[::-1], "comes out mirrored": reference[:, ::-1],
                 "lies on its side (transposed)": reference.T}
        best = max(flips, key=lambda f: _corr(amount, flips[f]))
        if _corr(amount, flips[best]) > max(c + 0.2, 0.5):
            raise CheckFailed(f"{where}: the character {best}; keep the crop upright, as it is on the page (the "
                              "NIST36 rows are stored transposed, the book's images are not).")
        raise CheckFailed(f"{where}: the crop does not look like the character in its box (correlation {c:.2f} with "
                          "the ink in the box). Cut bw[y1:y2, x1:x2] with the box [y1, x1, y2, x2].")
    return int(side)


def _reference_crop(bw: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The chapter's recipe: cut the box, pad with paper to a square 32/25 of its larger side (half the
    padding on each side), resize to 32 x 32."""
    from skimage import transform

    y1, x1, y2, x2 = (int(v) for v in box)
    c = np.asarray(bw[y1:y2, x1:x2], dtype=np.float64)
    h, w = c.shape
    side = int(round(max(h, w) * 32 / 25))
    py, px = side - h, side - w
    square = np.pad(c, ((py // 2, py - py // 2), (px // 2, px - px // 2)), constant_values=1)
    return transform.resize(square, (32, 32), anti_aliasing=True)


def _ink_centre(crop: Any) -> tuple[float, float]:
    """(row, column) of the centre of mass of the ink (1 - value) of a crop."""
    ink = np.clip(1.0 - np.asarray(crop, dtype=np.float64), 0, None)
    rows, cols = np.indices(ink.shape)
    total = max(float(ink.sum()), 1e-12)
    return float((ink * rows).sum() / total), float((ink * cols).sum() / total)


def check_prepare_crop(prepare_crop: Callable) -> None:
    """prepare_crop(bw (H, W) ink 0 paper 1, box [y1, x1, y2, x2]) -> (32, 32): every character of a
    three-line page squared, 32x32, paper 1 and ink dark, centred, its larger side as in the training images."""
    page, boxes, bw, chars = _page()
    sides, shifts, ink_ratio = [], [], []
    for k, box in enumerate(boxes):
        where = f"prepare_crop(bw, {_fmt_box(box)}) for {_name(chars, k)}"
        crop = call_unchanged(prepare_crop, np.array(bw), box.copy(), name="prepare_crop")
        if crop is None:
            raise CheckFailed(f"{where} returned None; did the function forget to `return` the crop?")
        sides.append(_judge_crop(where, crop, box, bw))
        ref = _reference_crop(bw, box)
        ink_ratio.append(float(np.clip(1.0 - np.asarray(crop, np.float64), 0, 1).sum() / (1.0 - ref).sum()))
        shifts.append(np.subtract(_ink_centre(crop), _ink_centre(ref)))
    if np.mean(ink_ratio) < 0.98:
        dy, dx = np.mean(shifts, axis=0)
        way = ("down and to the right" if dy > 0 and dx > 0 else "up and to the left" if dy < 0 and dx < 0 else
               "off its place")
        raise CheckFailed(f"prepare_crop: the crops hold {100 * (1 - np.mean(ink_ratio)):.0f}% less ink than the "
                          f"characters have (up to {100 * (1 - min(ink_ratio)):.0f}% for one), and the characters sit "
                          f"about a pixel {way} ({dy:+.2f} rows, {dx:+.2f} columns on average): an edge row and column "
                          "of every character are cut off, so the cut is off by one. Cut exactly bw[y1:y2, x1:x2]: "
                          "y1, x1 is the character's first pixel and y2, x2 one past its last.")
    lo, hi = _training_sizes()
    passed("prepare_crop", f"{len(boxes)} characters: 32x32, paper 1 and ink dark, centred, aspect kept, the larger "
                           f"side of the ink {min(sides)}-{max(sides)} of 32 pixels (training: {lo:g}-{hi:g}); "
                           "bw left as it was")


def check_prepare_crops(prepare_crops: Callable) -> None:
    """The book's prepare_crops(layout) -> (K, 32, 32): the crops of a three-line page judged like
    :func:`check_prepare_crop`'s (32x32, ink dark, centred, size and aspect of the training images)."""
    from .. import ocr

    page, _, _, chars = _page()
    layout = ocr.analyze_page(page.image)
    k = len(layout.boxes)
    crops = np.asarray(call(prepare_crops, layout, name="prepare_crops"))
    if crops.ndim != 3 or len(crops) != k:
        raise CheckFailed(f"prepare_crops on a page of {k} characters should return (K, 32, 32) = ({k}, 32, 32); "
                          f"got shape {crops.shape}.")
    bw = (~layout.ink).astype(np.float32)
    sides = [_judge_crop(f"prepare_crops: crop {i} ({_name(chars, i)})", crops[i], layout.boxes[i], bw)
             for i in range(k)]
    lo, hi = _training_sizes()
    passed("prepare_crops", f"{k} crops 32x32, paper 1 and ink dark, centred, aspect kept, the larger side of the "
                            f"ink {min(sides)}-{max(sides)} of 32 pixels (training: {lo:g}-{hi:g})")
