"""helpers.data.compare: image statistics on synthetic 32x32 images whose answers are known."""
import numpy as np
import pytest

from helpers.data import compare_table, image_statistics
from helpers.data.compare import PAPER_GAP, STATISTICS


def page(paper=1.0, n=1):
    return np.full((n, 32, 32), paper, dtype=np.float32)


def box_image(height=20, width=10, top=6, left=11, paper=1.0, ink=0.0):
    """(1, 32, 32) upright: a filled dark box `height` rows tall, `width` columns wide."""
    im = page(paper)
    im[0, top:top + height, left:left + width] = ink
    return im


def test_box_size_reads_rows_as_height_from_book_rows():
    im = box_image(20, 10)
    for X in (im, im.reshape(1, 1024)):              # (N, 32, 32) and the book's upright row-major .X
        s = image_statistics(X)
        assert (s["box_height"][0], s["box_width"][0]) == (20, 10), \
            f"a 20-tall, 10-wide box measured {s['box_height'][0]} x {s['box_width'][0]} (height x width)"


def test_course_file_rows_are_transposed_back():
    im = box_image(20, 10)
    rows = im.transpose(0, 2, 1).reshape(1, 1024)    # how nist36_*.mat stores the image
    s = image_statistics(rows, transposed=True)
    assert (s["box_height"][0], s["box_width"][0]) == (20, 10)
    s = image_statistics(rows)                        # read as book rows, the box lies on its side
    assert (s["box_height"][0], s["box_width"][0]) == (10, 20)


def test_ink_is_dark_and_threshold_is_mid_grey():
    im = box_image(20, 10, paper=1.0, ink=0.0)
    im[0, 0:4, 0:4] = 0.6                             # lighter than mid-grey: a smudge, not ink
    s = image_statistics(im)
    assert (s["box_height"][0], s["box_width"][0]) == (20, 10), "only pixels darker than 0.5 are ink"
    assert s["ink"][0] == 0.0 and not s["touches_frame"][0]


def test_touches_frame_on_each_side():
    for top, left, h, w in ((0, 10, 5, 5), (27, 10, 5, 5), (10, 0, 5, 5), (10, 27, 5, 5)):
        assert image_statistics(box_image(h, w, top, left))["touches_frame"][0], (top, left)
    assert not image_statistics(box_image(30, 30, 1, 1))["touches_frame"][0]   # one pixel of margin


@pytest.mark.parametrize("width", [1, 3, 5])
def test_stroke_width_of_a_straight_line(width):
    im = page()
    im[0, 2:30, 14:14 + width] = 0.0                  # a vertical stroke 28 px long
    got = image_statistics(im)["stroke_width"][0]
    assert abs(got - width) <= 0.12 * width + 0.05, f"a {width}-px line measured {got:.2f} px"


def test_stroke_width_of_a_diagonal_line():
    """A diagonal stroke's skeleton has fewer pixels than its length: counting skeleton pixels alone
    would overstate its width by sqrt(2)."""
    yy, xx = np.mgrid[0:32, 0:32]
    im = page()
    im[0][(np.abs(yy - xx) <= 2) & (yy >= 3) & (yy <= 28)] = 0.0   # 5 pixels per row at 45 degrees
    got, true = image_statistics(im)["stroke_width"][0], 5 / np.sqrt(2)
    assert abs(got / true - 1) < 0.15, f"a diagonal stroke {true:.2f} px wide measured {got:.2f} px"


def test_constant_background_has_its_level_and_no_noise():
    s = image_statistics(box_image(20, 10, paper=0.9, ink=0.1))
    assert s["background"][0] == pytest.approx(0.9) and s["noise"][0] == pytest.approx(0.0, abs=1e-7)
    assert s["ink"][0] == pytest.approx(0.1)


def test_background_leaves_out_the_halo_next_to_ink():
    im = box_image(20, 10, top=6, left=11, paper=0.9, ink=0.1)
    im[0, 5:27, 10:22][im[0, 5:27, 10:22] > 0.5] = 0.7       # a light-grey blur ring around the box
    s = image_statistics(im)
    assert s["background"][0] == pytest.approx(0.9) and s["noise"][0] == pytest.approx(0.0, abs=1e-7), \
        f"paper pixels are > {PAPER_GAP} px from ink; the halo must not count (noise {s['noise'][0]:.3f})"


def test_noise_is_the_sd_of_the_paper():
    rng = np.random.default_rng(0)
    im = box_image(20, 10, paper=0.9, ink=0.1)
    im += rng.normal(0, 0.02, im.shape).astype(np.float32)
    s = image_statistics(np.clip(im, 0, 1))
    assert s["background"][0] == pytest.approx(0.9, abs=0.005)
    assert s["noise"][0] == pytest.approx(0.02, abs=0.003)


def test_soft_edge_counts_grey_pixels_among_ink_and_edge():
    crisp = box_image(10, 10, top=11, left=11, paper=0.9, ink=0.1)
    assert image_statistics(crisp)["soft_edge"][0] == 0.0
    soft = crisp.copy()
    soft[0, 10:22, 10:22][soft[0, 10:22, 10:22] > 0.5] = 0.5  # a one-pixel ring halfway between ink and paper
    assert image_statistics(soft)["soft_edge"][0] == pytest.approx(44 / 144)
    faint = box_image(10, 10, top=11, left=11, paper=0.8, ink=0.4)  # grey ink on grey paper: levels are relative
    faint[0, 10:22, 10:22][faint[0, 10:22, 10:22] > 0.5] = 0.6
    assert image_statistics(faint)["soft_edge"][0] == pytest.approx(44 / 144)


def test_blank_image_and_bad_shape():
    s = image_statistics(page())
    assert s["box_height"][0] == 0 and not s["touches_frame"][0] and np.isnan(s["stroke_width"][0])
    assert s["background"][0] == 1.0 and np.isnan(s["ink"][0])
    with pytest.raises(ValueError, match=r"\(N, 1024\)"):
        image_statistics(np.ones((2, 28, 28)))


def test_compare_table_means_and_shares():
    a = np.concatenate([box_image(20, 10), box_image(20, 10, top=0)])   # second one touches the frame
    b = box_image(10, 4)
    table = compare_table({"a": a.reshape(2, 1024), "b": image_statistics(b)})
    assert list(table.columns) == ["a", "b"] and len(table) == len(STATISTICS)
    assert table.loc["ink box height (px)", "a"] == "20.0 ± 0.0"
    assert table.loc["ink box width (px)", "b"] == "4.0 ± 0.0"
    assert table.loc["ink touches the frame (% of images)", "a"] == "50%"
    assert table.loc["ink touches the frame (% of images)", "b"] == "0%"
