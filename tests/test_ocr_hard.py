"""The reader on hard pages (issue 22): non-text refused, wide boxes split only on evidence, digits kept
digits, word gaps from the line's own spacing, a small sheet on a large desk.

Layout checks use a constant stand-in classifier or classifiers made up for the test, so they hold
whatever the character models are; the accuracy checks use the book's quick-mode CNN when it loads.
"""
import numpy as np
import pytest

from helpers import ocr
from helpers.data import CLASSES
from helpers.ocr import hard
from helpers.ocr.components import long_straight_strokes, straight_bars, thick_strokes
from helpers.ocr.reading import choose_splits
from test_ocr_robust import _probs  # (N, 36) probabilities from {character: value} rows

SIZE = (1500, 2000)
TEXT = ["I LOVE IT", "CHECK IT OFF", "MAKE A LIST", "DEEP LEARNING"]


def constant_classifier(images):
    probs = np.zeros((len(images), len(CLASSES)), np.float32)
    probs[:, 0] = 1.0
    return probs


@pytest.fixture(scope="module")
def cnn():
    try:
        return ocr.load_classifier("cnn", progress=False)
    except Exception as exc:  # no PyTorch or no cached model: skip the accuracy checks
        pytest.skip(f"quick CNN unavailable ({exc})")


# --- non-text -------------------------------------------------------------------------------------

@pytest.mark.parametrize("clutter", ["pen", "edge"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_pen_or_a_second_pages_edge_adds_no_line_and_no_box(clutter, seed):
    page = ocr.make_test_page(seed, SIZE, lines=TEXT, clutter=clutter, cap_height=0.03)
    plain = ocr.make_test_page(seed, SIZE, lines=TEXT, cap_height=0.03)
    layout = ocr.analyze_page(page.image)
    assert layout.n_lines == len(TEXT), ocr.read_page(page.image, constant_classifier)
    # the clutter adds no box: as many as on the same page without it
    assert len(layout.boxes) == len(ocr.analyze_page(plain.image).boxes)
    assert np.abs(page.image.astype(int) - plain.image.astype(int)).max() > 100  # the clutter is there


def test_the_clutter_leaves_the_text_and_the_default_pages_alone():
    a = ocr.make_test_page(3, (300, 400))
    b = ocr.make_test_page(3, (300, 400), clutter=None, desk_fill=1.0, wide=1.0)
    np.testing.assert_array_equal(a.image, b.image)
    with pytest.raises(ValueError, match="clutter"):
        ocr.make_test_page(0, (300, 400), clutter="cat")


def test_bars_posts_long_strokes_and_thick_strokes_are_not_characters():
    h = 20.0
    boxes = np.array([[0, 0, 20, 14],     # a letter
                      [0, 0, 20, 3],      # an I: thin but one character tall
                      [0, 0, 20, 40],     # two touching letters
                      [0, 0, 6, 60],      # a flat dash of a ruled line
                      [0, 0, 60, 4]])     # a post three characters tall
    assert straight_bars(boxes, h).tolist() == [False, False, False, True, True]
    assert thick_strokes(np.array([3.0, 3.5, 4.0, 3.2, 12.0])).tolist() == [False] * 4 + [True]
    # a slightly tilted line 8 heights long, and a letter-sized blob and a word of touching letters
    labels = np.zeros((200, 400), np.int32)
    for x in range(20, 180):
        y = 40 + x // 20
        labels[y:y + 3, x] = 1
    labels[100:120, 20:34] = 2
    labels[100:120, 60:120] = 3
    ids = np.array([1, 2, 3])
    assert long_straight_strokes(labels, ids, np.array([0, 1, 2]), h).tolist() == [True, False, False]


def test_a_small_sheet_on_a_large_desk_is_found_and_read():
    page = ocr.make_test_page(5, SIZE, lines=TEXT, desk="wood", desk_angle=20.0, desk_fill=0.5)
    assert page.sheet.mean() < 0.3  # the sheet covers under a third of the photo
    reading = ocr.read_page(page.image, constant_classifier, details=True)
    assert reading.layout.sheet is not None
    assert len(reading.lines) == len(TEXT)
    b = reading.layout.boxes_full()
    assert page.sheet[(b[:, 0] + b[:, 2]) // 2, (b[:, 1] + b[:, 3]) // 2].all()


# --- splitting by evidence ------------------------------------------------------------------------

def test_a_wide_letter_is_cut_only_when_the_pieces_read_better():
    page = ocr.make_test_page(3, SIZE, lines=["MAKE A MUM", "THE NUN WON"], spacing=0.2, wide=1.3, cap_height=0.05)
    layout = ocr.analyze_page(page.image)
    k = len(layout.boxes)
    pairs = []  # boxes cut in two, at most 1.75 times as wide as tall (one letter could be that wide)
    for g in np.unique(layout.split_from[layout.split_from >= 0]):
        b = layout.boxes[layout.split_from == g]
        if len(b) == 2 and b[:, 3].max() - b[:, 1].min() <= 1.75 * (b[:, 2].max() - b[:, 0].min()):
            pairs.append(g)
    assert len(pairs) >= 3, "the layout cuts the wide letters in two"

    def classify(sure_whole):
        def f(images):  # the first k crops are the layout's boxes, the rest the whole boxes of the cuts
            doubt = np.where(np.arange(len(images)) < k, 1e-3, 1e-7) if sure_whole else \
                np.where(np.arange(len(images)) < k, 1e-7, 1e-2)
            probs = np.full((len(images), len(CLASSES)), 1e-9, np.float32)
            piece = np.arange(len(images)) < k
            probs[piece, CLASSES.index("A")] = 1 - doubt[piece]     # a half of an M reads as an A ...
            probs[~piece, CLASSES.index("M")] = 1 - doubt[~piece]   # ... the whole box as an M
            return probs
        return f

    whole = ocr.read_page(page.image, classify(True), details=True)
    assert len(whole.layout.boxes) == k - len(pairs)  # every wide letter cut in two put back together
    assert len(whole.crops) == len(whole.probs) == len(whole.chars) == len(whole.layout.boxes)
    assert not any((whole.layout.split_from == g).sum() == 2 for g in pairs)
    cut = ocr.read_page(page.image, classify(False), details=True)
    assert len(cut.layout.boxes) == k  # the pieces read better: the cuts stay


def test_choose_splits_keeps_a_touching_pair_of_digits_in_a_line_of_digits():
    # line 0: '1', '2', then a box cut into two pieces that read 3 and 4; the whole box reads M, surely
    layout = ocr.analyze_page(ocr.make_test_page(0, (300, 400)).image)
    boxes = np.array([[0, 0, 20, 8], [0, 20, 20, 34], [0, 50, 20, 64], [0, 64, 20, 78]])
    from dataclasses import replace

    layout = replace(layout, boxes=boxes, members=[[1], [2], [3], [4]], line_of=np.zeros(4, np.int64),
                     space_before=np.array([False, True, True, False]), stroke=np.ones(4),
                     split_from=np.array([-1, -1, 0, 0]))
    probs = np.full((4, 36), 1e-6, np.float32)
    for k, ch in enumerate("1234"):
        probs[k, CLASSES.index(ch)] = 0.99
    whole = np.full((1, 36), 1e-9, np.float32)
    whole[0, CLASSES.index("M")] = 1 - 1e-6
    crops = np.ones((4, 32, 32), np.float32)
    new, _, new_probs = choose_splits(layout, crops, probs, whole, [np.array([2, 3])], np.ones((1, 32, 32)))
    assert len(new.boxes) == 4  # in a line of digits only the digit classes count: 3 and 4 beat M
    # the same box in a line of letters: the sure M wins, the box is put back together
    for k, ch in enumerate("IZ"):
        probs[k] = 1e-6
        probs[k, CLASSES.index(ch)] = 0.99
    new, _, new_probs = choose_splits(layout, crops, probs, whole, [np.array([2, 3])], np.ones((1, 32, 32)))
    assert len(new.boxes) == 3 and new.boxes[2].tolist() == [0, 50, 20, 78] and new_probs[2].argmax() == 12


# --- digits, 1 and I, word gaps ---------------------------------------------------------------------

def test_a_line_of_numbers_stays_digits():
    # '1 2 34': the lone 1 a little more I than 1, the 2 a little more Z than 2
    probs = _probs([{"I": 0.5, "1": 0.4}, {"Z": 0.5, "2": 0.4}, {"3": 0.9}, {"4": 0.9}])
    line_of, space = np.zeros(4, int), np.array([False, True, True, False])
    assert ocr.decode(probs, line_of, space) == "1234"
    # '10 20': the 0 of '10' a little more O than 0, the word read in its line of numbers
    probs = _probs([{"I": 0.5, "1": 0.45}, {"O": 0.5, "0": 0.45}, {"2": 0.9}, {"0": 0.9}])
    assert ocr.decode(probs, line_of, np.array([False, False, True, False])) == "1020"


def test_word_gaps_in_a_line_with_more_word_gaps_than_letter_gaps():
    # '8 6 7 5 309': four word gaps of 0.9 heights, the touching 309 (gaps 0.05)
    xs = [0, 32, 64, 96, 128, 143, 158]
    boxes = np.array([[0, x, 20, x + 14] for x in xs])
    space = ocr.word_spaces(boxes, np.zeros(len(xs), int), 20.0)
    assert space.tolist() == [False, True, True, True, True, False, False]
    # the paper beside a thin stroke is not a word gap: 'JUST' with a 2-pixel J, 10 pixels before the U
    boxes = np.array([[0, 0, 20, 2], [0, 12, 20, 26], [0, 30, 20, 44], [0, 48, 20, 62]])
    assert not ocr.word_spaces(boxes, np.zeros(4, int), 20.0).any()


# --- the hard pages with the CNN --------------------------------------------------------------------

def test_hard_pages_of_the_new_kinds_are_made_and_scored():
    pages = hard.make_hard_pages(kinds=("pen", "edge", "digits", "wide", "small"), per_kind=1, size=(600, 800))
    assert [k for k, _ in pages] == ["pen", "edge", "digits", "wide", "small"]
    assert all(set(s) <= set("0123456789 ") for s in pages[2][1].lines)
    assert any(c in "MNWU" for s in pages[3][1].lines for c in s)


def test_the_cnn_reads_pages_with_clutter_and_a_line_of_touching_digits(cnn):
    for clutter in ("pen", "edge"):
        page = ocr.make_test_page(1, SIZE, lines=TEXT, clutter=clutter, cap_height=0.03)
        assert ocr.char_accuracy(ocr.read_page(page.image, cnn), page.lines) >= 0.8
    page = ocr.make_test_page(3, SIZE, lines=["1 2 34", "10 20 30", "8 6 7 5 309"], spacing=-0.03)
    lines = ocr.read_page(page.image, cnn)
    assert all(set(s) <= set("0123456789 ") for s in lines), lines  # digits, not IZM
    assert ocr.char_accuracy(lines, page.lines) >= 0.75, lines


# --- the thresholds chapter 4's text names (moved out of the chapter's cells) ------------------------

def test_letters_from_components_keeps_and_drops_as_the_chapter_says():
    # a page whose characters are 100 pixels tall with 2000 pixels of ink
    five = [[0, x, 100, x + 60] for x in range(1000, 1500, 100)]       # five ordinary characters

    def kept(*extra):   # extra: (box, ink area) pairs added to the five; -> number of characters kept
        boxes, area = np.array(five + [b for b, _ in extra]), np.array([2000.0] * 5 + [a for _, a in extra])
        return int(ocr.letters_from_components(boxes, area, 100.0, 4000)[2].sum())

    assert kept(([0, 0, 45, 20], 500), ([55, 8, 100, 28], 500)) == 6    # stacked, columns overlap 12 of 20: one
    assert kept(([0, 0, 45, 20], 500), ([55, 12, 100, 32], 500)) == 7   # overlap 8 of 20, under half: two
    assert kept(([300, 0, 330, 30], 0.05 * 2000)) == 5                   # under 6% of the ink: a speck
    assert kept(([300, 0, 330, 30], 0.07 * 2000)) == 6                   # over 6% and 30 pixels tall: kept
    assert kept(([300, 0, 324, 24], 0.5 * 2000)) == 5                    # under a quarter of the height: a speck
    assert kept(([0, 2000, 390, 2300], 2000)) == 6 and kept(([0, 2000, 410, 2300], 2000)) == 5  # 4 heights tall
    assert kept(([300, 0, 320, 2010], 2000)) == 5                         # wider than 6 heights and half the page
    assert kept(([0, 2000, 390, 2040], 2000)) == 5                        # a thin post 3.9 heights tall: a bar
    assert kept(([300, 0, 330, 300], 2000)) == 5                          # a flat dash 3 heights long: a bar


def test_the_numbers_chapter_4_names_are_the_codes():
    import inspect

    assert "4.5 * spread" in inspect.getsource(ocr.choose_threshold) and "1.4826" in inspect.getsource(ocr.layout)
    assert "height / 3" in inspect.getsource(ocr.estimate_skew)   # the skew histogram's bins
