"""helpers.ocr on the photos readers really take (issue 15) and on bad input (issue 14).

Pages on a desk, touching letters, lone letters and word gaps, with the book's quick-mode CNN when
its cached weights are found (BOOK_DATA_DIR), else a constant stand-in classifier for the layout checks.
"""
import io
import re

import numpy as np
import pytest
from PIL import Image

from helpers import ocr
from helpers.data import CLASSES
from helpers.ocr import hard
from helpers.ocr.components import split_touching
from helpers.ocr.sheet import find_sheet

SIZE = (1500, 2000)


def constant_classifier(images):
    probs = np.zeros((len(images), len(CLASSES)), np.float32)
    probs[:, 0] = 1.0
    return probs


@pytest.fixture(scope="module")
def desk_page():
    return ocr.make_test_page(2, SIZE, lines=["I LOVE IT", "I MISSED THE BUS", "MAKE A LIST"], desk="dark",
                              desk_angle=30.0)


@pytest.fixture(scope="module")
def cnn():
    try:
        return ocr.load_classifier("cnn", progress=False)
    except Exception as exc:  # no PyTorch or no cached model: skip the accuracy checks
        pytest.skip(f"quick CNN unavailable ({exc})")


# --- the sheet on a desk ----------------------------------------------------------------------------

def test_a_page_on_a_desk_is_found_turned_upright_and_nothing_outside_is_read(desk_page):
    reading = ocr.read_page(desk_page.image, constant_classifier, details=True)
    layout = reading.layout
    assert layout.sheet is not None and abs(layout.rotation) > 20
    assert len(layout.boxes) == desk_page.n_chars
    assert [len(s) for s in reading.lines] == [len(s) for s in desk_page.lines]
    b = layout.boxes_full()
    cy, cx = (b[:, 0] + b[:, 2]) // 2, (b[:, 1] + b[:, 3]) // 2
    assert desk_page.sheet[cy, cx].all()  # every box lies on the paper


def test_a_page_filling_the_frame_has_no_sheet_and_is_not_turned():
    for seed in range(3):
        page = ocr.make_test_page(seed, (900, 1200), shadow=True)
        layout = ocr.analyze_page(page.image)
        assert layout.sheet is None and layout.rotation == 0.0
    assert find_sheet(np.full((100, 100), 0.8, np.float32)) is None


def test_read_page_with_the_cnn_on_a_desk_and_on_touching_letters(cnn, desk_page):
    acc = ocr.char_accuracy(ocr.read_page(desk_page.image, cnn), desk_page.lines)
    assert acc >= 0.6, acc  # before issue 15: no text at all
    touching = ocr.make_test_page(4, SIZE, lines=["I LOVE IT", "WE MISSED YOU"], spacing=-0.03)
    reading = ocr.read_page(touching.image, cnn, details=True)
    assert len(reading.layout.boxes) >= touching.n_chars - 3
    assert ocr.char_accuracy(reading.lines, touching.lines) >= 0.5


# --- touching letters, word gaps, lone letters ----------------------------------------------------

def test_the_splitter_cuts_a_two_letter_blob_in_two():
    labels = np.zeros((60, 100), np.int32)
    labels[10:50, 10:14] = 1   # |
    labels[46:50, 10:40] = 1   # L's foot, touching ...
    labels[10:50, 40:44] = 1   # ... the next letter's left stroke
    labels[10:14, 40:70] = 1
    labels[10:50, 66:70] = 1   # a square-ish second letter
    boxes = np.array([[10, 10, 50, 70]])
    new_labels, new_boxes, members = split_touching(labels, boxes, [[1]], height=40.0)
    assert len(new_boxes) == 2 and len(members) == 2
    assert new_boxes[0, 3] <= 41 and 30 <= new_boxes[1, 1] <= 41  # cut in the foot, near the join
    assert set(np.unique(new_labels)) == {0, 1, 2}
    one = np.array([[10, 10, 50, 40]])
    assert len(split_touching(labels, one, [[1]], height=40.0)[1]) == 1  # one letter stays whole


def test_word_gaps_are_measured_against_each_lines_own_spacing():
    # line 0: tight letters (gap 5) with one word gap of 25; line 1: wide letters (gap 22), no word gap
    def row(y, xs, w=20):
        return [[y, x, y + 40, x + w] for x in xs]
    tight = row(0, [0, 25, 50, 75, 120, 145])
    wide = row(100, [0, 42, 84, 126, 168])
    boxes = np.array(tight + wide)
    line_of = np.array([0] * 6 + [1] * 5)
    space = ocr.word_spaces(boxes, line_of, 40.0)
    assert space.tolist() == [False] * 4 + [True, False] + [False] * 5


def _probs(rows):
    p = np.full((len(rows), 36), 1e-3, np.float32)
    for k, row in enumerate(rows):
        for ch, v in row.items():
            p[k, CLASSES.index(ch)] = v
    return p


def test_a_lone_letter_between_words_prefers_the_letter_reading():
    # "A I B": the middle crop is a little more 1 than I
    probs = _probs([{"A": 0.9}, {"1": 0.5, "I": 0.4}, {"B": 0.9}])
    line_of, space = np.zeros(3, int), np.array([False, True, True])
    assert ocr.decode(probs, line_of, space) == "AIB"
    # much more 1 than I: stays 1
    assert ocr.decode(_probs([{"A": 0.9}, {"1": 0.9, "I": 0.05}, {"B": 0.9}]), line_of, space) == "A1B"
    # a lone character starting its line before letters: I, unless the page's other lines start with lone
    # digits (a numbered list: '1 MAKE ...', '2 CHECK ...')
    assert ocr.decode(_probs([{"1": 0.5, "I": 0.4}, {"A": 0.9}, {"B": 0.9}]), line_of, space) == "IAB"
    listed = _probs([{"1": 0.5, "I": 0.4}, {"A": 0.9}, {"2": 0.9}, {"B": 0.9}])
    assert ocr.decode(listed, np.array([0, 0, 1, 1]), np.array([False, True, False, True])) == "1A2B"
    # after a number the digit reading is favoured: "12 O" -> 0
    probs = _probs([{"1": 0.9}, {"2": 0.9}, {"O": 0.5, "0": 0.4}])
    assert ocr.decode(probs, line_of, np.array([False, False, True])) == "120"


# --- the hard pages ------------------------------------------------------------------------------

def test_hard_pages_are_deterministic_and_scored_per_kind():
    pages = hard.make_hard_pages(kinds=("plain", "desk"), per_kind=1, size=(600, 800))
    again = hard.make_hard_pages(kinds=("plain", "desk"), per_kind=1, size=(600, 800))
    assert [k for k, _ in pages] == ["plain", "desk"]
    np.testing.assert_array_equal(pages[1][1].image, again[1][1].image)
    assert pages[0][1].sheet is None and pages[1][1].sheet is not None
    rows = hard.evaluate_hard(lambda im: ocr.read_page(im, constant_classifier, details=True), pages)
    assert [r["kind"] for r in rows] == ["plain", "desk"]
    assert all(r["present"] == p.n_chars for r, (_, p) in zip(rows, pages))
    assert "found/present" in hard.format_table(rows)


def test_new_page_options_leave_the_default_pages_unchanged():
    a = ocr.make_test_page(5, (300, 400))
    b = ocr.make_test_page(5, (300, 400), shear=0.0, pen=1.0, desk=None)
    np.testing.assert_array_equal(a.image, b.image)
    with pytest.raises(ValueError, match="desk"):
        ocr.make_test_page(0, (300, 400), desk="marble")


# --- bad input (issue 14) ---------------------------------------------------------------------------

def _jpeg(arr, **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def test_truncated_jpeg_says_to_copy_it_again(tmp_path):
    page = ocr.make_test_page(0, (300, 400))
    path = tmp_path / "cut.jpg"
    data = _jpeg(page.image)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ocr.OCRImageError, match="cut short.*again"):
        ocr.read_image(path)


@pytest.mark.parametrize("side", [1, 5])
def test_tiny_images_are_refused_clearly(tmp_path, side):
    path = tmp_path / f"tiny{side}.png"
    Image.new("RGB", (side, side), "white").save(path)
    with pytest.raises(ocr.OCRImageError, match="too small"):
        ocr.read_image(path)
    with pytest.raises(ValueError, match="too small"):
        ocr.read_page(np.full((side, side, 3), 255, np.uint8), constant_classifier)


def test_exif_rotated_phone_photo_is_read_upright(tmp_path):
    page = ocr.make_test_page(1, (600, 800), jpeg_quality=0)
    stored = np.rot90(page.image, -1)  # the camera stored it turned; EXIF orientation 6 says so
    exif = Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.ascontiguousarray(stored)).save(path, quality=95, exif=exif)
    upright = ocr.read_image(path)
    assert upright.shape == page.image.shape
    assert np.abs(upright.astype(int) - page.image.astype(int)).mean() < 8
    assert [len(s) for s in ocr.read_page(upright, constant_classifier)] == [len(s) for s in page.lines]


def test_rgba_png_is_composited_on_white(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)  # fully transparent black ...
    rgba[20:40, 20:24] = (0, 0, 0, 255)     # ... with one opaque stroke
    path = tmp_path / "t.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = ocr.read_image(path)
    assert img.shape == (64, 64, 3) and img[0, 0].tolist() == [255, 255, 255] and img[30, 21].max() == 0


def test_a_classifier_of_the_wrong_shape_is_named():
    page = ocr.make_test_page(0, (600, 800))
    with pytest.raises(ValueError, match=re.escape("expected (N, 36)") + ".*got|returned shape \\(\\d+, 10\\)"):
        ocr.read_page(page.image, lambda x: np.ones((len(x), 10), np.float32) / 10)
