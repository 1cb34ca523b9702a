"""Facts the chapter-4 pages state about the reader's code, checked here rather than on the pages (issue 23: unit-style
checks live in tests/): the toy examples of its Going-further page and the defaults its prose names."""
import inspect

import numpy as np

from helpers import checks, ocr


def test_connected_components_of_the_pages_toy_example():
    """An I, an L with a square touching it only at a corner (8-connected: one component) and an O."""
    ink = np.zeros((40, 60), bool)
    ink[5:30, 5:9] = True
    ink[5:30, 20:24] = True; ink[26:30, 20:34] = True; ink[30:33, 34:37] = True
    ink[10:20, 45:55] = True; ink[13:17, 48:52] = False
    labels, cc_boxes, cc_area, cc_ids = ocr.connected_components(ink)
    assert cc_boxes.tolist() == [[5, 5, 30, 9], [5, 20, 33, 37], [10, 45, 20, 55]]
    assert cc_area.tolist() == [100, 149, 84] and labels[31, 35] == labels[6, 21] != labels[6, 6]


def _spaces(gap, inner=10):
    """Four characters 100 pixels tall in one line, gaps of ``inner`` inside the words and ``gap`` between them."""
    x = np.cumsum([0, 60 + inner, 60 + gap, 60 + inner])
    boxes = np.array([[0, x0, 100, x0 + 60] for x0 in x])
    return np.nonzero(ocr.word_spaces(boxes, np.zeros(4, int), 100.0))[0].tolist()


def test_word_spaces_as_the_page_describes():
    assert _spaces(46) == [2] and _spaces(44) == []   # wider than 0.45 heights: a space before the third
    assert _spaces(46, inner=30) == []               # ... but not 0.25 heights wider than the median gap (0.30)
    assert _spaces(56, inner=30) == [2]


def test_crop_to_square_centres_and_keeps_the_aspect():
    """An ink box 40 tall and 10 wide: centred, its larger side 25 of 32 pixels (50 of 64), its aspect kept."""
    amount = np.zeros((44, 14), np.float32)
    amount[2:42, 2:12] = 1.0
    a64 = ocr.crop_to_square(amount, (2, 2, 42, 12), fill=ocr.LayoutParams().fill)
    rows, cols = np.nonzero(a64 > 0.5)
    assert a64.shape == (64, 64) and 48 <= np.ptp(rows) + 1 <= 52 and 11 <= np.ptp(cols) + 1 <= 15
    assert abs(rows.mean() - 31.5) <= 1 and abs(cols.mean() - 31.5) <= 1


def test_the_skew_search_of_the_text():
    """-8 to 8 degrees: a 5-degree page is found, steeper ones stop at the edge of the search."""
    skew = lambda deg: np.rad2deg(-ocr.estimate_skew(checks.ocr.row_boxes(checks.ocr.SKEW_LINES, deg)[0], 30.0))  # noqa: E731
    assert abs(skew(5) - 5) < 1 and skew(10) == 8 and max(abs(skew(d)) for d in (-20, 15, 30)) <= 8
    assert (checks.ocr.ROW_TILT, checks.ocr.SKEW_TILT) == (1, 6)   # the pages of the grouping check, as its exercise says


def test_the_parameters_the_chapter_names_are_the_code_defaults():
    P = ocr.LayoutParams()
    assert (P.max_side, P.space_gap, P.space_margin, P.line_gap, P.speck_area, P.fill) == (1600, 0.45, 0.25, 0.6, 0.06, 25)
    assert P.stroke_range == (2.8, 4.4) and P.morph_size == 1
    assert inspect.signature(ocr.estimate_skew).parameters["max_deg"].default == 8.0
    assert inspect.signature(ocr.group_lines).parameters["line_gap"].default == 0.6
