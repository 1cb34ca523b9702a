"""The seed switch (BOOK_SEED) and claims as data (helpers.claims, the margin report, the build's claims file)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import claims, config, margins, nn


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BOOK_CACHE_DIR", raising=False)
    monkeypatch.delenv("BOOK_SEED", raising=False)
    return tmp_path


# --- the seed switch -----------------------------------------------------------------------------

def test_book_seed_zero_leaves_every_seed_as_it_is(monkeypatch):
    monkeypatch.delenv("BOOK_SEED", raising=False)
    assert config.book_seed() == 0 and config.seeded(7) == 7
    monkeypatch.setenv("BOOK_SEED", "0")
    assert config.seeded(0) == 0


def test_another_book_seed_moves_seeds_apart(monkeypatch):
    monkeypatch.setenv("BOOK_SEED", "1")
    moved = [config.seeded(s) for s in range(5)]
    monkeypatch.setenv("BOOK_SEED", "2")
    moved2 = [config.seeded(s) for s in range(5)]
    # seed 1's seeds are neither seed 0's nor seed 2's (no run shares a random stream with another)
    assert not set(moved) & set(range(5)) and not set(moved) & set(moved2)


@pytest.mark.parametrize("bad", ["-1", "one", "1.5", " 2x"])
def test_a_bad_book_seed_says_what_to_do(monkeypatch, bad):
    monkeypatch.setenv("BOOK_SEED", bad)
    with pytest.raises(config.ConfigError, match="BOOK_SEED=.*non-negative integer"):
        config.book_seed()


def test_another_seed_changes_the_drawn_data_and_the_initial_weights(monkeypatch, private_cache):
    from helpers import data

    def draw():
        chars = data.generate_characters("train", 2, seed=0, progress=False)
        w = nn.build_mlp([1024, 64, 36], ["sigmoid", "softmax"], rng=config.rng(0))["Wlayer1"]
        torch = pytest.importorskip("torch")
        config.seed_everything(0)
        t = torch.rand(3)
        order = torch.randperm(10, generator=config.torch_generator(0))
        return chars.images, w, t, order

    monkeypatch.setenv("BOOK_SEED", "0")
    a = draw()
    b = draw()
    monkeypatch.setenv("BOOK_SEED", "1")
    c = draw()
    for x, y, z in zip(a, b, c):
        x, y, z = (np.asarray(v) for v in (x, y, z))
        assert np.array_equal(x, y)          # the same seed draws the same numbers
        assert not np.array_equal(x, z)      # another seed draws others


def test_another_seed_changes_the_ocr_test_pages(monkeypatch):
    from helpers import ocr

    monkeypatch.setenv("BOOK_SEED", "0")
    a = ocr.make_test_page(3, (200, 300))
    monkeypatch.setenv("BOOK_SEED", "2")
    b = ocr.make_test_page(3, (200, 300))
    assert a.lines != b.lines or not np.array_equal(a.image, b.image)


def test_each_seed_caches_apart(monkeypatch, private_cache):
    from helpers import data, mlp
    from helpers.data import cache as data_cache

    paths = {}
    for seed in ("0", "3"):
        monkeypatch.setenv("BOOK_SEED", seed)
        paths[seed] = (data_cache.cache_path("train", 2, 0),
                       mlp.mlp_cache_path(mlp.mlp_settings(None, None, None, 0),
                                          data.CharacterSet(np.zeros((1, 32, 32), np.float32), np.zeros(1, int),
                                                            "x", "train", None),
                                          data.CharacterSet(np.zeros((1, 32, 32), np.float32), np.zeros(1, int),
                                                            "x", "valid", None)))
    assert all(p0 != p3 for p0, p3 in zip(paths["0"], paths["3"]))
    assert all(p.parent.name == "seed3" or p.parent.parent.name == "seed3" for p in paths["3"])
    monkeypatch.setenv("BOOK_CACHE_DIR", str(private_cache / "elsewhere"))
    assert config.cache_dir() == private_cache / "elsewhere" and config.cache_dir().is_dir()


def test_the_executed_notebook_cache_is_kept_per_seed(monkeypatch, tmp_path):
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location("book_build", config.ROOT / "book" / "_ext" / "book_build.py")
    bb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bb)
    seen = {}
    for seed in ("0", "1"):
        monkeypatch.setenv("BOOK_SEED", seed)
        monkeypatch.setenv("BOOK_MODE", "quick")
        conf = types.SimpleNamespace()
        monkeypatch.setattr(bb, "ROOT", tmp_path)
        bb._cache_path(None, conf)
        seen[seed] = Path(conf.nb_execution_cache_path).name
    assert seen["0"].startswith("quick-seed0-") and seen["1"].startswith("quick-seed1-")


# --- claims ----------------------------------------------------------------------------------------

def test_a_claim_that_holds_is_recorded_with_its_margin(monkeypatch, tmp_path):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("BOOK_CLAIMS_LOG", str(log))
    monkeypatch.setenv("BOOK_SEED", "2")
    assert claims.claim("t.acc", 0.82, ">=", 0.75, "three in four") == 0.82
    assert claims.claim("t.loss", 1.5, "<", 2.0) == 1.5
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["id"] for r in recs] == ["t.acc", "t.loss"]
    assert recs[0]["margin"] == pytest.approx(0.07) and recs[1]["margin"] == pytest.approx(0.5)
    assert recs[0]["passed"] is True and recs[0]["seed"] == 2 and recs[0]["text"] == "three in four"
    assert claims.records()[-1].id == "t.loss"


@pytest.mark.parametrize("value, op, bound", [(0.70, ">=", 0.75), (0.75, ">", 0.75), (2.0, "<", 2.0),
                                              (3.0, "<=", 2.5)])
def test_a_claim_that_fails_names_itself_its_value_bound_and_seed(monkeypatch, value, op, bound):
    monkeypatch.setenv("BOOK_SEED", "1")
    with pytest.raises(claims.ClaimError) as err:
        claims.claim("ch9.accuracy", value, op, bound, "the net reads most characters")
    msg = str(err.value)
    assert "ch9.accuracy" in msg and "the net reads most characters" in msg
    assert f"needs {op} {bound:.6g}" in msg and "BOOK_SEED=1" in msg and "(margin " in msg
    assert isinstance(err.value, AssertionError)  # a failing claim fails the cell like an assert


def test_record_mode_keeps_going_and_full_only_claims_are_recorded_in_quick_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("BOOK_CLAIMS", "record")
    assert claims.claim("t.fails", 0.1, ">", 0.5) == 0.1
    assert claims.records()[-1].passed is False
    monkeypatch.delenv("BOOK_CLAIMS")
    monkeypatch.setenv("BOOK_MODE", "quick")
    claims.claim("t.full", 0.1, ">", 0.5, full_only=True)          # not checked in quick mode
    assert claims.records()[-1].passed is None and claims.records()[-1].margin == pytest.approx(-0.4)
    monkeypatch.setenv("BOOK_MODE", "full")
    with pytest.raises(claims.ClaimError):
        claims.claim("t.full", 0.1, ">", 0.5, full_only=True)


@pytest.mark.parametrize("args, error", [(("has space", 1, ">", 0), ValueError), (("t.op", 1, "=>", 0), ValueError),
                                         (("t.nan", float("nan"), ">", 0), claims.ClaimError),
                                         (("t.type", "high", ">", 0), TypeError)])
def test_bad_claims_are_refused_clearly(args, error):
    with pytest.raises(error, match="claim"):
        claims.claim(*args)


def test_claims_are_read_back_from_an_executed_notebook():
    """What the build does: glued claim outputs (myst-nb's glue, display=False) back into records."""
    rec = dict(id="ch1.x", text="", value=1.0, op=">", bound=0.0, margin=1.0, passed=True, mode="quick", seed=0,
               notebook="", time=0.0)
    out = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "claim:ch1.x", "mime_prefix": "x/"}},
           "data": {"application/papermill.record/text/plain": json.dumps(rec)}}
    other = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "acc"}}, "data": {"text/plain": "1"}}
    newer = dict(rec, value=2.0)
    nb = {"cells": [{"cell_type": "code", "outputs": [other, out]},
                    {"cell_type": "code", "outputs": [dict(out, data={"application/papermill.record/text/plain":
                                                                       json.dumps(newer)})]}]}
    got = claims.from_notebook(nb)
    assert [r["value"] for r in got] == [1.0, 2.0]
    assert [r["value"] for r in claims.latest(got)] == [2.0]   # a re-run cell: its last record counts


def test_margins_rank_claims_of_different_units():
    tight = dict(value=0.76, bound=0.75, margin=0.01)
    wide = dict(value=30.0, bound=20.0, margin=10.0)
    assert claims.relative_margin(tight) < claims.relative_margin(wide)
    assert claims.margin_of(1.0, "<", 3.0) == 2.0 and claims.margin_of(1.0, ">", 3.0) == -2.0


def test_the_margin_report_table_flags_a_claim_that_fails_for_one_seed():
    rec = dict(id="ch3.acc", op=">=", bound=0.75, text="")
    report = {"seeds": [0, 1], "claims": [dict(rec, seed=0, value=0.8, margin=0.05, passed=True),
                                          dict(rec, seed=1, value=0.7, margin=-0.05, passed=False)]}
    text = margins.table(report)
    assert "| ch3.acc | >= 0.75 | 0.8 (+0.05) | 0.7 (-0.05) **FAILS** |" in text
    assert margins.failures(report) == ["ch3.acc (seed 1)"]


def test_the_margin_report_runs_a_notebook_per_seed_from_a_cold_cache(tmp_path, monkeypatch):
    """A tiny notebook through the real runner: one claim per seed, the seed and cache reach the kernel."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import sys, os; sys.path.insert(0, %r)\n"
        "from helpers import config\nfrom helpers.claims import claim\n"
        "claim('t.seed', config.book_seed(), '<', 1, 'only seed 0')\n"
        "assert os.environ['BOOK_CACHE_DIR'] == str(config.cache_dir())" % str(config.ROOT))]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(nb, folder / "tiny.ipynb")
    monkeypatch.setattr(margins.config, "ROOT", tmp_path)
    report = margins.run_report([0, 1], "quick", ["tiny"], tmp_path / "report.json")
    assert [r["error"] for r in report["runs"]] == [None, None]
    assert [(c["seed"], c["passed"]) for c in report["claims"]] == [(0, True), (1, False)]
    assert json.loads((tmp_path / "report.json").read_text())["claims"] == report["claims"]
    assert margins.failures(report) == ["t.seed (seed 1)"]


def test_the_exercise_checks_grade_every_seed_on_the_same_cases(monkeypatch):
    monkeypatch.setenv("BOOK_SEED", "3")
    with config.seeds_as_written():
        assert config.seeded(5) == 5
    assert config.seeded(5) == 5 + 3 * config.SEED_STRIDE   # restored after the block
    from helpers.checks import ocr as ocr_checks

    ocr_checks._page.cache_clear()
    page3 = ocr_checks._page()[0]
    monkeypatch.setenv("BOOK_SEED", "0")
    ocr_checks._page.cache_clear()
    assert np.array_equal(ocr_checks._page()[0].image, page3.image)
