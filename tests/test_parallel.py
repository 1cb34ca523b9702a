"""helpers.parallel: runs in worker processes give the numbers of runs one after another."""
import math

import numpy as np
import pytest

from helpers import config, parallel


def test_workers_follow_book_workers_and_mode(monkeypatch):
    monkeypatch.delenv("BOOK_WORKERS", raising=False)
    monkeypatch.setenv("BOOK_MODE", "quick")
    assert parallel.workers() == 1                  # quick runs are shorter than a worker's start
    monkeypatch.setenv("BOOK_MODE", "full")
    assert 1 <= parallel.workers() <= 4
    monkeypatch.setenv("BOOK_WORKERS", "3")
    assert parallel.workers() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("BOOK_WORKERS", bad)
        with pytest.raises(ValueError, match="BOOK_WORKERS"):
            parallel.workers()


def test_results_keep_the_order_of_the_items():
    items = [16.0, 1.0, 9.0, 4.0, 25.0]
    assert parallel.pmap(math.sqrt, items, n_workers=2) == [4.0, 1.0, 3.0, 2.0, 5.0]
    assert parallel.pmap(math.sqrt, items, n_workers=1) == [4.0, 1.0, 3.0, 2.0, 5.0]


def _tiny_finetune_context():
    from helpers import torch_models as tm

    config.seed_everything(5)
    backbone = tm.squeezenet(36)
    rng = np.random.default_rng(3)
    images = rng.random((60, 32, 32), dtype=np.float32)
    labels = np.repeat(np.arange(10), 6)
    sets = {name: (images[i::3], labels[i::3]) for i, name in enumerate(("train", "valid", "eval"))}
    feats = {k: tm.backbone_features(backbone, sets[k]) for k in ("valid", "eval")}
    return backbone, dict(backbone=backbone, feats=feats, sets=dict(valid=sets["valid"], eval=sets["eval"]), steps=4), sets


def test_a_finetune_run_in_a_worker_equals_one_here():
    """The fine-tuning study's own run function, in two workers and here: the same bits."""
    from helpers.torch_models.transfer import _ft_run

    _, ctx, sets = _tiny_finetune_context()
    tasks = [(st, sets["train"], seed, 1e-3, "eval") for st in ("probe", "finetune") for seed in (0, 1)]
    here = parallel.pmap(_ft_run, tasks, ctx=ctx, n_workers=1)
    there = parallel.pmap(_ft_run, tasks, ctx=ctx, n_workers=2)
    for a, b in zip(here, there):
        assert a["strategy"] == b["strategy"]
        assert a["loss"] == b["loss"] and a["curve_acc"] == b["curve_acc"] and a["acc"] == b["acc"]
    assert here[0]["loss"] != here[1]["loss"]       # the seeds differ, so the check can tell runs apart


def test_a_failing_run_names_its_item():
    from helpers.torch_models.transfer import _ft_run

    _, ctx, sets = _tiny_finetune_context()
    with pytest.raises(RuntimeError, match="'nonsense'.*ValueError.*strategy must be one of"):
        parallel.pmap(_ft_run, [("probe", sets["train"], 0, 1e-3, "eval"), ("nonsense", sets["train"], 0, 1e-3, "eval")],
                      ctx=ctx, n_workers=2)


def test_context_is_restored_after_a_serial_map():
    assert parallel.context() is None
    assert parallel.pmap(len, [[1, 2], [3]], ctx={"x": 1}, n_workers=1) == [2, 1]
    assert parallel.context() is None


def test_prepare_refuses_an_unknown_network():
    from helpers import torch_models as tm

    with pytest.raises(ValueError, match="unknown networks.*'resnet'.*choose from"):
        tm.prepare(("book_cnn", "resnet"))
    assert set(tm.CHAPTER6_MODELS) < set(tm.SHARED_MODELS)


def test_two_processes_needing_one_model_train_it_once(tmp_path, monkeypatch):
    """Two workers ask for the same chapter-3 network at once (as two notebooks of a build, or two
    test workers, would): one trains it, the other waits for the lock and loads the cached file."""
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BOOK_MODE", "quick")
    from helpers import mlp

    runs = parallel.pmap(mlp._train_mlp_seed, [5, 5], n_workers=2)
    assert sorted(info["cached"] for _, info in runs) == [False, True]
    assert all(np.array_equal(runs[0][0][k], runs[1][0][k]) for k in ("Wlayer1", "Woutput"))


def test_cache_lock_makes_the_second_process_wait(tmp_path):
    import multiprocessing
    import time

    target = tmp_path / "model.npz"
    ctx = multiprocessing.get_context("spawn")
    with config.cache_lock(target):
        child = ctx.Process(target=_touch_under_lock, args=(str(target), str(tmp_path / "child")))
        child.start()
        time.sleep(1.5)
        assert not (tmp_path / "child").exists()       # still waiting for the lock
        released = time.time()
    child.join(60)
    assert child.exitcode == 0 and float((tmp_path / "child").read_text()) >= released
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child"]     # no lock file in the cache folder


def _touch_under_lock(target: str, out: str) -> None:
    import pathlib
    import time

    from helpers import config as c

    with c.cache_lock(target):
        pathlib.Path(out).write_text(repr(time.time()))
