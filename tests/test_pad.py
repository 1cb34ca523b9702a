"""helpers.pad and the page's drawing pad: the same reading in Python and in the browser.

The Python tests check the pipeline itself (a round pen, the OCR reader's framing, the chapter-3 forward
pass, the model file). The browser tests load ``book/_static/pad-pipeline.js`` and ``pad.js`` into a blank
page in headless Chromium (Debian's ``/usr/bin/chromium``, never a downloaded browser) with a model file
written by :func:`helpers.pad.write_model`, draw characters through the page's API, its sample buttons and
real pointer events, and check that the page's 32x32 image and probabilities equal
:func:`helpers.pad.read_drawing` to 1e-4. No book build is needed (the built chapter's pad is checked in
``tests/test_book_browser.py``); a random network with large weights makes the probabilities peaked, so a
wrong forward pass shows.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import nn, ocr, pad
from helpers.data import CLASSES, PARAMS
from helpers.ocr.layout import LayoutParams

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "book" / "_static"
TOL = 1e-4


def random_network(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    params = nn.build_mlp([1024, 64, 36], ["sigmoid", "softmax"], rng=rng, scale=4.0)
    params["blayer1"] = rng.normal(0, 1, 64).astype(np.float32)
    params["boutput"] = rng.normal(0, 1, 36).astype(np.float32)
    return params


class FakeTrain:
    """A stand-in training set: 10 random images of each class."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.labels = np.repeat(np.arange(36), 10)
        self.images = rng.random((360, 32, 32)).astype(np.float32)


def drawings() -> list[list]:
    """Characters of the generator's pen-stroke alphabet at sizes, slants and places that take every branch of the
    framing (stroke thickened, thinned or kept; PIL's bilinear and box resize), a dot and a diagonal."""
    cases = [pad.glyph_strokes(c, height=h, slant=s) for c in CLASSES for h, s in ((0.62, 0.0), (0.2, 0.15))]
    cases += [pad.glyph_strokes(c, height=0.9, slant=-0.1) for c in "MW0Q8"]
    cases += [[[[x + 30, y - 20] for x, y in stroke] for stroke in pad.glyph_strokes("L", height=0.3)]]
    cases += [[[[64.3, 40.7]]], [[[3, 3], [125, 125]], []], [[[10, 60], [118, 61]]]]
    return cases


# --- Python ------------------------------------------------------------------------------------


def test_rasterize_draws_a_round_pen():
    dot = pad.rasterize([[[64.3, 40.7]]], pen=9.0)
    yy, xx = np.mgrid[:128, :128] + 0.5
    d = np.hypot(xx - 64.3, yy - 40.7)
    assert dot.dtype == np.float32 and dot.shape == (128, 128)
    assert (dot[d <= 4.0] == 1).all() and (dot[d >= 5.0] == 0).all()
    assert ((dot > 0) & (dot < 1))[np.abs(d - 4.5) < 0.4].all()          # one antialiased pixel at the edge
    line = pad.rasterize([[[20, 64.5], [100, 64.5]]], pen=9.0)
    assert abs(line.sum() / 80 - 9.0) < 1.5                               # area / length = the pen's width
    assert pad.rasterize([]).max() == 0 and pad.ink_box(pad.rasterize([[]])) is None
    assert pad.read_drawing([], random_network()) is None


def test_pad_frames_a_drawing_like_the_training_characters():
    """Wherever and however large it is drawn, a character comes out framed as chapter 4 frames a crop: the
    larger side of its ink box ``fill`` of 32 pixels (inside the generator's range), centred, strokes in the
    training range, paper 1 and ink dark."""
    fill = LayoutParams().fill
    assert PARAMS["size"][0] <= fill <= PARAMS["size"][1]
    for c in "AK7I":
        for h in (0.25, 0.5, 0.85):
            img = pad.pad_image(pad.glyph_strokes(c, height=h))
            ink = img < 0.5
            rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
            side = max(np.ptp(rows), np.ptp(cols)) + 1
            assert abs(side - fill) <= 3, (c, h, side)        # thinning a small drawing's strokes trims its box
            assert abs((rows[0] + rows[-1]) / 2 - 15.5) <= 1.5 and abs((cols[0] + cols[-1]) / 2 - 15.5) <= 1.5
            assert 2.0 <= ocr.stroke_width(ink) <= 6.0, (c, h, ocr.stroke_width(ink))   # training: 2.8-5.5 (5-95%)
            assert img.max() == 1.0 and img.min() < 0.1
    # moved by whole pad units: the very same image
    s = pad.glyph_strokes("R", height=0.4)
    moved = [[[x + 17, y - 9] for x, y in stroke] for stroke in s]
    assert np.array_equal(pad.pad_image(s), pad.pad_image(moved))


def test_read_drawing_is_the_ocr_framing_and_the_chapter3_forward_pass():
    params = random_network()
    strokes = pad.glyph_strokes("K")
    amount = pad.rasterize(strokes)
    image = ocr.frame_crop(amount, pad.ink_box(amount))
    r = pad.read_drawing(strokes, params)
    assert np.array_equal(r["image"], image)
    assert np.allclose(r["probs"], nn.predict(image.reshape(1, -1), params)[0], atol=1e-6)
    assert np.allclose(r["hidden"], nn.sigmoid(image.reshape(1, -1) @ params["Wlayer1"] + params["blayer1"])[0])
    assert abs(r["probs"].sum() - 1) < 1e-5


def test_frame_crop_is_what_the_ocr_reader_crops_with():
    """prepare_crops (chapter 4) frames every box with frame_crop: one framing for pages and for the pad."""
    page = ocr.make_test_page(seed=0, size=(600, 800))
    layout = ocr.analyze_page(page.image)
    crops = ocr.prepare_crops(layout)
    k = 0
    y1, x1, y2, x2 = (int(v) for v in layout.boxes[k])
    h, w = layout.norm.shape
    Y1, X1, Y2, X2 = max(0, y1 - 2), max(0, x1 - 2), min(h, y2 + 2), min(w, x2 + 2)
    core = np.isin(layout.labels[Y1:Y2, X1:X2], layout.members[k])
    amount = ocr.ink_amount(layout.norm[Y1:Y2, X1:X2], core)
    assert np.array_equal(crops[k], ocr.frame_crop(amount, (y1 - Y1, x1 - X1, y2 - Y1, x2 - X1)))


def test_model_file_round_trip(tmp_path):
    params, train = random_network(), FakeTrain()
    model = pad.export_model(params, train, info={"mode": "quick"})
    path = pad.write_model(tmp_path / pad.MODEL_FILE, model)
    assert path.read_text().startswith("// The chapter-3 network") and "window.PAD_MODEL = {" in path.read_text()
    assert path.stat().st_size < 600_000, "the model file should stay a few hundred KB"
    back, model2 = pad.load_model(path)
    for k in ("Wlayer1", "blayer1", "Woutput", "boutput"):
        assert back[k].dtype == np.float32 and np.array_equal(back[k], params[k]), k
    assert model2["framing"]["fill"] == LayoutParams().fill and model2["mode"] == "quick"
    labels = np.array(model2["examples"]["labels"])
    assert (np.bincount(labels, minlength=36) == pad.EXAMPLES_PER_CLASS).all()
    # the nearest example of an exported image is itself
    n = int(np.flatnonzero(labels == 5)[3])
    h = nn.sigmoid(train.images[np.flatnonzero(train.labels == 5)[3]].reshape(1, -1) @ params["Wlayer1"]
                   + params["blayer1"])[0]
    assert pad.nearest_examples(h, model2, 5, k=3)[0] == n
    assert [s["char"] for s in model2["samples"]] == list(pad.SAMPLE_CHARS)
    with pytest.raises(ValueError, match="1024-64-36"):
        pad.export_model({"Wlayer1": np.zeros((64, 1024)), "blayer1": 0, "Woutput": np.zeros((64, 36)),
                          "boutput": 0}, train)


def test_glyph_strokes_are_centred_on_the_pad():
    for c in "AI9":
        pts = np.concatenate([np.array(s) for s in pad.glyph_strokes(c, height=0.5)])
        assert np.allclose((pts.min(0) + pts.max(0)) / 2, 64, atol=0.02)
        assert abs(np.ptp(pts[:, 1]) - 64) < 1.0


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium: apt-get install -y chromium", pytrace=False)
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from test_book_browser import CHROMIUM_ARGS

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_pad(browser, tmp_path, params, framing=None):
    """A blank page with one pad, the page's two scripts and a model file for ``params``."""
    model = pad.export_model(params, FakeTrain(), framing)
    model_file = pad.write_model(tmp_path / pad.MODEL_FILE, model)
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.set_content('<html><body><div class="book-pad"></div></body></html>')
    for f in (STATIC / "pad-pipeline.js", model_file, STATIC / "pad.js"):
        page.add_script_tag(path=str(f))
    page.add_style_tag(path=str(STATIC / "book.css"))
    page.wait_for_function("window.BookPad && BookPad.pads.length === 1")
    return page, model, errors


def compare(page_result: dict, py: dict, what: str) -> None:
    img = np.array(page_result["image"])
    assert np.abs(img - py["image"].ravel()).max() <= TOL, f"{what}: the page's 32x32 image differs from Python's"
    assert np.abs(np.array(page_result["probs"]) - py["probs"]).max() <= TOL, f"{what}: probabilities differ"
    assert np.abs(np.array(page_result["hidden"]) - py["hidden"]).max() <= TOL, f"{what}: hidden units differ"


@pytest.mark.parametrize("framing", [None, LayoutParams(fill=24, stroke_range=(3.6, 4.4))], ids=["book", "other"])
def test_page_reads_drawings_like_python(browser, tmp_path, framing):
    """Every drawing of :func:`drawings` through the page's pipeline: image, hidden units, probabilities and
    nearest training images as in Python. With other framing settings too: the page takes them from the
    model file, so a change to the OCR framing reaches the pad."""
    params = random_network(1)
    page, model, errors = open_pad(browser, tmp_path, params, framing)
    cases = drawings()
    results = page.evaluate("cases => cases.map(s => BookPad.pads[0].draw(s))", cases)
    branches = set()
    for k, (strokes, r) in enumerate(zip(cases, results)):
        py = pad.read_drawing(strokes, params, framing)
        compare(r, py, f"drawing {k}")
        best = int(py["probs"].argmax())
        assert r["nearest"] == pad.nearest_examples(py["hidden"], model, best), f"drawing {k}: nearest images"
        amount = pad.rasterize(strokes)
        y1, x1, y2, x2 = pad.ink_box(amount)
        side = int(np.ceil(max(y2 - y1, x2 - x1) / (framing or LayoutParams()).fill * 32))
        w = ocr.stroke_width(ocr.crop_to_square(amount, (y1, x1, y2, x2), (framing or LayoutParams()).fill) > 0.5)
        lo, hi = (framing or LayoutParams()).stroke_range
        branches |= {"box" if side >= 128 else "bilinear",
                     "thicken" if w < 2 * lo - 0.5 else "thin" if w > 2 * hi + 0.5 else "keep"}
    assert branches == {"box", "bilinear", "thicken", "thin", "keep"}, branches
    assert page.evaluate("BookPad.pads[0].draw([])") is None
    assert not errors, errors
    page.close()


def test_pad_with_pointer_and_keyboard(browser, tmp_path):
    """A character drawn with real pointer events reads as Python reads the strokes the page recorded; a
    sample drawing chosen with the keyboard is read and announced; the bars are the top 5."""
    params = random_network(2)
    page, model, errors = open_pad(browser, tmp_path, params)
    box = page.locator("canvas.pad-canvas").bounding_box()
    scale = box["width"] / pad.PAD_SIZE
    for stroke in pad.glyph_strokes("K", height=0.6):
        page.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=2)
        page.mouse.up()
    recorded = page.evaluate("BookPad.pads[0].strokes")
    assert len(recorded) == 3 and all(len(s) > 3 for s in recorded)
    page_result = page.evaluate("(() => { const r = BookPad.pads[0].result; "
                                "return {image: Array.from(r.image), hidden: r.hidden, probs: r.probs}; })()")
    py = pad.read_drawing(recorded, params)
    compare(page_result, py, "pointer drawing")
    top5 = [CLASSES[c] for c in np.argsort(-py["probs"], kind="stable")[:5]]
    assert page.locator(".pad-bars .pad-label").all_inner_texts() == top5
    assert CLASSES[py["probs"].argmax()] in page.locator(".pad-status").inner_text()

    button = page.get_by_role("button", name=f"sample drawing of {pad.SAMPLE_CHARS[1]}")
    button.focus()
    page.keyboard.press("Enter")
    sample = model["samples"][1]["strokes"]
    py = pad.read_drawing(sample, params)
    status = page.locator("[aria-live=polite]")
    assert status.inner_text().startswith(f"The network reads {CLASSES[py['probs'].argmax()]} (")
    assert page.evaluate("BookPad.pads[0].strokes") == sample
    page.get_by_role("button", name="Clear").click()
    assert page.evaluate("BookPad.pads[0].result") is None and "empty" in status.inner_text()
    assert not errors, errors
    page.close()
