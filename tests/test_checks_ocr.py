"""helpers.checks.ocr: every check passes on the book's functions and on a reader's plain answer
(the chapter's reference answers), and fails with a message that teaches on plausible wrong versions."""
import functools

import numpy as np
import pytest
from skimage import color, filters, measure, morphology, transform

from helpers import checks, ocr
from helpers.checks import CheckFailed


def as_answer(f):
    """The book's function handed in as a reader's answer (a check refuses the book's own function object)."""
    @functools.wraps(f)
    def answer(*args, **kwargs):
        return f(*args, **kwargs)
    return answer


CHECKED = {"findLetters": ocr.findLetters, "group_lines": ocr.group_lines, "prepare_crop": None,
           "prepare_crops": ocr.prepare_crops}


def test_every_check_is_exported():
    assert set(checks.ocr.__all__) == {"check_" + n for n in CHECKED}
    assert all(callable(getattr(checks, "check_" + n)) for n in CHECKED)


@pytest.mark.parametrize("name", [n for n, f in CHECKED.items() if f is not None])
def test_passes_on_the_book_reference(name, capsys):
    getattr(checks, "check_" + name)(as_answer(CHECKED[name]))
    out = capsys.readouterr().out
    assert out.startswith(f"\u2714 {name}:") and out.count("\n") == 1


def test_the_book_groups_a_tilted_page(capsys):
    checks.check_group_lines(as_answer(ocr.group_lines), skew=True)
    assert "turned by 6°" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(CHECKED))
def test_a_stub_is_not_written_yet(name):
    def stub(*args, **kwargs):
        raise NotImplementedError()
    stub.__name__ = name
    with pytest.raises(CheckFailed, match=f"{name} is not written yet"):
        getattr(checks, "check_" + name)(stub)


def test_passing_a_result_instead_of_the_function():
    with pytest.raises(CheckFailed, match="expected a function"):
        checks.check_findLetters(ocr.findLetters(np.full((40, 40), 0.9)))


# ---------------------------------------------------------------------------------------------
# plain answers, as a reader writes them (and as the chapter's solution cells do): they pass
# ---------------------------------------------------------------------------------------------
def ink_of(image, polarity=1, offset=0.0, sigma=1.0):
    gray = filters.gaussian(color.rgb2gray(image), sigma=sigma) if sigma else color.rgb2gray(image)
    t = filters.threshold_otsu(gray) + offset
    return gray < t if polarity > 0 else gray > t


def boxes_of(ink, keep=0.2):
    regions = measure.regionprops(measure.label(ink, connectivity=2))
    median = np.median([r.area for r in regions])
    return np.array([r.bbox for r in regions if r.area > keep * median])


def findLetters(image):
    gray = filters.gaussian(color.rgb2gray(image), sigma=1)
    ink = gray < filters.threshold_otsu(gray)
    ink = morphology.closing(ink, morphology.disk(1))
    regions = measure.regionprops(measure.label(ink, connectivity=2))
    median = np.median([r.area for r in regions])
    boxes = [r.bbox for r in regions if r.area > 0.2 * median]
    return np.array(boxes), (~ink).astype(float)


def group_lines(boxes, height):
    cy, cx = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    by_y = np.argsort(cy)
    line_of = np.empty(len(boxes), int)
    line_of[by_y] = np.cumsum(np.r_[False, np.diff(cy[by_y]) > 0.5 * height])
    return np.lexsort((cx, line_of)), line_of


def prepare_crop(bw, box):
    y1, x1, y2, x2 = box
    crop = bw[y1:y2, x1:x2]
    h, w = crop.shape
    side = int(round(max(h, w) * 32 / 25))
    py, px = side - h, side - w
    square = np.pad(crop, ((py // 2, py - py // 2), (px // 2, px - px // 2)), constant_values=1)
    return transform.resize(square, (32, 32), anti_aliasing=True)


@pytest.mark.parametrize("name, fn", [("findLetters", findLetters), ("group_lines", group_lines),
                                      ("prepare_crop", prepare_crop)])
def test_passes_on_a_plain_answer(name, fn, capsys):
    getattr(checks, "check_" + name)(fn)
    assert capsys.readouterr().out.startswith(f"\u2714 {name}:")


def test_checks_are_fast():
    """A couple of seconds at most each, page generation included (CPU time: a busy machine does not count)."""
    import time

    checks.ocr._page.cache_clear()
    for check, fn in [(checks.check_findLetters, findLetters), (checks.check_group_lines, as_answer(ocr.group_lines)),
                      (checks.check_prepare_crop, prepare_crop), (checks.check_prepare_crops, ocr.prepare_crops)]:
        t = time.process_time()
        check(fn)
        assert time.process_time() - t < 2.5, check.__name__


# ---------------------------------------------------------------------------------------------
# findLetters: wrong versions
# ---------------------------------------------------------------------------------------------
def _letters(boxes_fn=None, bw_fn=None, ink_fn=None):
    def fn(image):
        ink = (ink_fn or (lambda im: morphology.closing(ink_of(im), morphology.disk(1))))(image)
        boxes = boxes_of(ink)
        return (boxes_fn(boxes) if boxes_fn else boxes), (bw_fn(ink) if bw_fn else (~ink).astype(float))
    return fn


WRONG_LETTERS = {
    "paper as ink": (_letters(ink_fn=lambda im: ink_of(im, polarity=-1)), "covers most of the page"),
    "bw inverted": (_letters(bw_fn=lambda ink: ink.astype(float)), "bw is inverted"),
    "x before y": (_letters(boxes_fn=lambda b: b[:, [1, 0, 3, 2]]),
                   r"\[x1, y1, x2, y2\]: x \(the column\) comes first"),
    "x, y, w, h": (_letters(boxes_fn=lambda b: np.c_[b[:, 1], b[:, 0], b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]]),
                   r"\(x, y, width, height\)"),
    "closing too wide": (_letters(ink_fn=lambda im: morphology.dilation(ink_of(im), morphology.disk(5))),
                         "hold more than one character"),
    "threshold far too dark": (_letters(ink_fn=lambda im: ink_of(im, offset=-0.25)), "comes? out in pieces|found"),
    "size filter too strict": (lambda im: (boxes_of(ink_of(im), keep=1.1), (~ink_of(im)).astype(float)),
                               r"found \d+ of 26 characters"),
    "no speck filter": (lambda im: (boxes_of(ink_of(im, sigma=0, offset=0.1), keep=0), (~ink_of(im)).astype(float)),
                        "more boxes hold no character"),
    "bw 0-255": (_letters(bw_fn=lambda ink: 255 * (~ink).astype(np.uint8)), "divide by 255"),
    "bw gray levels": (lambda im: (findLetters(im)[0], color.rgb2gray(im)), "return the thresholded image"),
    "bw and boxes swapped": (lambda im: findLetters(im)[::-1], r"returned \(bw, boxes\)"),
    "only the boxes": (lambda im: findLetters(im)[0], "should return two things"),
    "one box per column": (lambda im: (findLetters(im)[0].T, findLetters(im)[1]), "one box per column"),
}


@pytest.mark.parametrize("case", list(WRONG_LETTERS))
def test_findletters_wrong_versions(case):
    fn, message = WRONG_LETTERS[case]
    with pytest.raises(CheckFailed, match=message):
        checks.check_findLetters(fn)


def test_findletters_message_counts_what_was_found():
    with pytest.raises(CheckFailed) as err:
        checks.check_findLetters(WRONG_LETTERS["size filter too strict"][0])
    text = str(err.value)
    assert "no box fits the" in text and "ink is dark" in text and "median area" in text


# ---------------------------------------------------------------------------------------------
# group_lines: wrong versions
# ---------------------------------------------------------------------------------------------
def _rows(new_line=None, key=None, number=None, finish=None, y_cols=(0, 2)):
    def fn(boxes, height):
        cy = (boxes[:, y_cols[0]] + boxes[:, y_cols[1]]) / 2
        cx = (boxes[:, 1] + boxes[:, 3]) / 2
        by_y = np.argsort(cy if key is None else key(boxes))
        sorted_y = (cy if key is None else key(boxes))[by_y]
        line_of = np.empty(len(boxes), int)
        line_of[by_y] = np.cumsum(np.r_[False, (new_line or (lambda d: d > 0.5 * height))(np.diff(sorted_y))])
        if number:
            line_of = number(line_of)
        order = np.lexsort((cx, line_of))
        return finish(order, line_of, cx, cy) if finish else (order, line_of)
    return fn


WRONG_ROWS = {
    "tops, a few pixels": (_rows(key=lambda b: b[:, 0].astype(float), new_line=lambda d: d > 2), "is split into"),
    "bottoms, a few pixels": (_rows(key=lambda b: b[:, 2].astype(float), new_line=lambda d: d > 3), "is split into"),
    "gap too large": (_rows(new_line=lambda d: d > 100), "holds characters of 3 lines"),
    "x for y": (_rows(y_cols=(1, 3)), "holds characters of|is split into"),
    "bottom to top": (_rows(number=lambda ln: ln.max() - ln), "numbered bottom to top"),
    "ranks": (_rows(finish=lambda o, ln, cx, cy: (np.argsort(o), ln)), "a rank"),
    "sorted by y in a line": (_rows(finish=lambda o, ln, cx, cy: (np.lexsort((cy, ln)), ln)), "instead of 'TODOLIST'"),
    "right to left": (_rows(finish=lambda o, ln, cx, cy: (np.lexsort((-cx, ln)), ln)), "right to left"),
    "lines last first": (_rows(finish=lambda o, ln, cx, cy: (np.lexsort((cx, -ln)), ln)), "list the top line"),
    "line numbers as order": (_rows(finish=lambda o, ln, cx, cy: (ln, ln)), "looks like line numbers"),
    "a list of rows": (_rows(finish=lambda o, ln, cx, cy: [o[ln[o] == t] for t in np.unique(ln)]),
                       r"groups of boxes \(rows\); it should return \(order, line_of\)"),
}


@pytest.mark.parametrize("case", list(WRONG_ROWS))
def test_group_lines_wrong_versions(case):
    fn, message = WRONG_ROWS[case]
    with pytest.raises(CheckFailed, match=message):
        checks.check_group_lines(fn)


def test_a_level_grouping_fails_on_the_tilted_page_and_is_told_why():
    checks.check_group_lines(group_lines)  # fine on the level page
    with pytest.raises(CheckFailed, match="turned by 6°") as err:
        checks.check_group_lines(group_lines, skew=True)
    assert "Estimate the skew first" in str(err.value) and "half a character height" not in str(err.value)


def test_row_boxes_are_what_they_claim():
    boxes, chars = checks.ocr.row_boxes(checks.ocr.ROW_LINES, 1.0)
    assert len(boxes) == sum(len(s.replace(" ", "")) for s in checks.ocr.ROW_LINES)
    q = [i for i, (c, _) in enumerate(chars) if c == "Q"][0]
    h = boxes[:, 2] - boxes[:, 0]
    assert h[q] > np.median(h) * 1.2  # the Q's tail makes its box taller, at the bottom
    assert (boxes > 0).all() and (checks.ocr.row_boxes(checks.ocr.SKEW_LINES, 30.0)[0][:, 0] >= 10).all()


# ---------------------------------------------------------------------------------------------
# prepare_crop and prepare_crops: wrong versions
# ---------------------------------------------------------------------------------------------
def _pad(crop, side, where="centre"):
    h, w = crop.shape
    py, px = side - h, side - w
    if where == "corner":
        return np.pad(crop, ((0, py), (0, px)), constant_values=1)
    return np.pad(crop, ((py // 2, py - py // 2), (px // 2, px - px // 2)), constant_values=1)


def _cut(bw, box):
    y1, x1, y2, x2 = box
    return bw[y1:y2, x1:x2]


def _crop(side_factor=32 / 25, where="centre", out=(32, 32), after=None):
    def fn(bw, box):
        c = _cut(bw, box)
        sq = _pad(c, int(round(max(c.shape) * side_factor)), where)
        r = transform.resize(sq, out, anti_aliasing=True)
        return after(r) if after else r
    return fn


WRONG_CROP = {
    "stretched, no padding": (lambda bw, box: transform.resize(_cut(bw, box), (32, 32), anti_aliasing=True),
                              "fills the crop to its edge|stretched"),
    "square, no margin": (_crop(side_factor=1.0), "fills the crop to its edge"),
    "stretched with a margin": (lambda bw, box: np.pad(transform.resize(_cut(bw, box), (24, 24)), 4,
                                                       constant_values=1), "stretched"),
    "ink light": (_crop(after=lambda r: 1 - r), "light ink on a dark background"),
    "not square": (lambda bw, box: transform.resize(_cut(bw, box), (32, 24)), "not square"),
    "not centred": (_crop(where="corner"), "not centred"),
    "transposed": (_crop(after=lambda r: r.T), "lies on its side"),
    "upside down": (_crop(after=lambda r: r[::-1]), "upside down"),
    "0-255": (_crop(after=lambda r: 255 * r), "divide by 255"),
    "flattened": (_crop(after=lambda r: r.ravel()), "flattening"),
    "64x64": (_crop(out=(64, 64)), "should be 32x32"),
    "x and y swapped": (lambda bw, box: prepare_crop(bw, np.asarray(box)[[1, 0, 3, 2]]),
                        "holds no ink|does not look like|not centred|stretched|lies on its side|edge|square"),
    "forgot return": (lambda bw, box: None, "forget to `return`"),
}


@pytest.mark.parametrize("case", list(WRONG_CROP))
def test_prepare_crop_wrong_versions(case):
    fn, message = WRONG_CROP[case]
    with pytest.raises(CheckFailed, match=message):
        checks.check_prepare_crop(fn)


WRONG_CROPS = {
    "inverted": (lambda layout: 1 - ocr.prepare_crops(layout), "light ink on a dark background"),
    "transposed": (lambda layout: ocr.prepare_crops(layout).transpose(0, 2, 1), "lies on its side"),
    "mirrored": (lambda layout: ocr.prepare_crops(layout)[:, :, ::-1], "mirrored"),
    "flattened": (lambda layout: ocr.prepare_crops(layout).reshape(len(layout.boxes), -1), r"\(26, 32, 32\)"),
    "one missing": (lambda layout: ocr.prepare_crops(layout)[1:], r"\(26, 32, 32\)"),
    "blank crops": (lambda layout: np.ones((len(layout.boxes), 32, 32)), "holds no ink"),
}


@pytest.mark.parametrize("case", list(WRONG_CROPS))
def test_prepare_crops_wrong_versions(case):
    fn, message = WRONG_CROPS[case]
    with pytest.raises(CheckFailed, match=message):
        checks.check_prepare_crops(fn)
