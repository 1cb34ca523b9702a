"""The cached chapter-3 network (helpers.nn, section 'trained models'): saving, loading, caching."""
import warnings

import numpy as np
import pytest

from helpers import config, mlp, nn
from helpers.data import CharacterSet


def tiny_set(split: str, n_per_class: int = 4, seed: int = 0, noise: float = 0.15) -> CharacterSet:
    """36 fixed random 32x32 'glyphs' (one per class, shared by all splits) plus per-image noise."""
    protos = np.random.default_rng(123).random((36, 32, 32)).astype(np.float32)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(36), n_per_class)
    images = np.clip(protos[labels] + noise * rng.standard_normal((len(labels), 32, 32)), 0, 1).astype(np.float32)
    return CharacterSet(images, labels.astype(np.int64), f"tiny synthetic ({split}, seed {seed})", split, None)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(config.BUDGETS, "mlp_epochs", (3, 3, "test"))
    return config.cache_dir()   # tmp_path itself, or tmp_path/seed<N> under BOOK_SEED=N


def small_net(seed=0):
    return nn.build_mlp([1024, 8, 36], ["sigmoid", "softmax"], rng=np.random.default_rng(seed))


def test_save_load_round_trip(tmp_path):
    params = small_net()
    params["cache_layer1"] = ("not", "saved")
    params["grad_Wlayer1"] = np.ones((1024, 8))
    path = mlp.save_params(tmp_path / "net.npz", params)
    back = mlp.load_params(path)
    assert back["layers"] == [("layer1", "sigmoid"), ("output", "softmax")]
    assert set(back) == {"layers", "Wlayer1", "blayer1", "Woutput", "boutput"}
    for k in ("Wlayer1", "blayer1", "Woutput", "boutput"):
        assert back[k].dtype == np.float32 and np.array_equal(back[k], params[k])
    X = np.random.default_rng(1).random((5, 1024), dtype=np.float32)
    assert np.array_equal(nn.predict(X, back), nn.predict(X, params))


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    params = small_net()
    mlp.save_params(tmp_path / "net.npz", params)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]
    old = (tmp_path / "net.npz").read_bytes()

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        mlp.save_params(tmp_path / "net.npz", small_net(seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]  # no temp file left behind
    assert (tmp_path / "net.npz").read_bytes() == old  # the old file is untouched


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(mlp.ModelFileError, match="not found.*chapter3_mlp"):
        mlp.load_params(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(mlp.ModelFileError, match="not a saved network"):
        mlp.load_params(bad)
    params = small_net()
    params["Woutput"] = params["Woutput"][:5]  # 5 inputs but the hidden layer gives 8
    mlp.save_params(tmp_path / "inconsistent.npz", params)
    with pytest.raises(mlp.ModelFileError, match="takes 5 inputs"):
        mlp.load_params(tmp_path / "inconsistent.npz")
    with pytest.raises(ValueError, match="overwrite"):
        mlp.save_params(tmp_path / "x.npz", small_net(), Wlayer1=np.zeros(3))


def test_training_reduces_loss_and_keeps_snapshots(cache_dir):
    train, valid = tiny_set("train"), tiny_set("valid", 2, seed=1)
    params, info = mlp.train_mlp(lr=0.01, epochs=6, train=train, valid=valid, progress=False)
    h = info["history"]
    assert h["epoch"] == [1, 2, 3, 4, 5, 6]
    assert all(b < a for a, b in zip(h["train_loss"], h["train_loss"][1:]))  # falls every epoch
    assert h["train_loss"][-1] < h["train_loss"][0] - 0.5
    assert h["valid_loss"][-1] < h["valid_loss"][0] and h["valid_acc"][-1] > 0.9
    assert info["source"] == train.source and info["n_train"] == len(train) and not info["cached"]
    snaps = info["snapshots"]
    assert snaps["epochs"][0] == 0 and snaps["epochs"][-1] == 6 and snaps["W"].shape == (len(snaps["epochs"]), 1024, 64)
    init = nn.build_mlp(list(mlp.CH3_SIZES), list(mlp.CH3_ACTIVATIONS), rng=config.rng(0))
    assert np.array_equal(snaps["W"][0], init["Wlayer1"])  # epoch 0 = initialization (seed 0)
    assert np.array_equal(snaps["W"][-1], params["Wlayer1"])


def test_initial_loss_is_about_ln36(cache_dir):
    train = tiny_set("train")
    params = nn.build_mlp(list(mlp.CH3_SIZES), list(mlp.CH3_ACTIVATIONS), rng=config.rng(0))
    loss, acc = nn.compute_loss_and_acc(train.Y, nn.predict(train.X, params))
    assert acc < 0.1 and abs(loss / len(train) / np.log(36) - 1) < 0.1  # within 10% of ln 36 per example


def test_cache_hit_returns_identical_params_without_training(cache_dir, monkeypatch):
    train, valid = tiny_set("train"), tiny_set("valid", 2, seed=1)
    params, info = mlp.train_mlp(train=train, valid=valid, progress=False)
    assert info["settings"]["epochs"] == 3 and info["path"].startswith(str(cache_dir))

    def no_training(*a, **k):
        raise AssertionError("fit must not run on a cache hit")

    monkeypatch.setattr(nn, "fit", no_training)
    again, info2 = mlp.train_mlp(train=train, valid=valid, progress=False)
    assert info2["cached"] and info2["path"] == info["path"]
    assert info2["history"] == info["history"] and info2["source"] == info["source"]
    assert np.array_equal(info2["snapshots"]["W"], info["snapshots"]["W"])
    for k in ("Wlayer1", "blayer1", "Woutput", "boutput"):
        assert np.array_equal(again[k], params[k])
    # other settings or other data: another file, so training would run
    with pytest.raises(AssertionError, match="must not run"):
        mlp.train_mlp(lr=0.5, train=train, valid=valid, progress=False)
    with pytest.raises(AssertionError, match="must not run"):
        mlp.train_mlp(train=tiny_set("train", seed=7), valid=valid, progress=False)


def test_chapter3_mlp_uses_book_data_and_caches(cache_dir, monkeypatch):
    import helpers.data

    sets = {"train": tiny_set("train"), "valid": tiny_set("valid", 2, seed=1)}
    monkeypatch.setattr(helpers.data, "load_book_data", lambda split: sets[split])
    params, info = mlp.chapter3_mlp(progress=False)
    assert info["source"] == sets["train"].source and not info["cached"]
    assert params["Wlayer1"].shape == (1024, 64) and params["Woutput"].shape == (64, 36)
    assert mlp.chapter3_mlp(progress=False)[1]["cached"]
    assert not mlp.chapter3_mlp(progress=False, retrain=True)[1]["cached"]
    assert [p.name for p in cache_dir.iterdir()] == [info["path"].split("/")[-1]]


def test_damaged_cache_is_retrained_with_a_warning(cache_dir):
    train, valid = tiny_set("train"), tiny_set("valid", 2, seed=1)
    params, info = mlp.train_mlp(train=train, valid=valid, progress=False)
    with open(info["path"], "wb") as fh:
        fh.write(b"PK\x03\x04 truncated")
    with pytest.warns(UserWarning, match="damaged cache file"):
        again, info2 = mlp.train_mlp(train=train, valid=valid, progress=False)
    assert not info2["cached"]
    assert np.array_equal(again["Wlayer1"], params["Wlayer1"])  # seeded: the same network again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mlp.train_mlp(train=train, valid=valid, progress=False)[1]["cached"]


def test_progress_lines(cache_dir, capsys):
    mlp.train_mlp(epochs=5, train=tiny_set("train", 2), valid=tiny_set("valid", 1, seed=1))
    out = capsys.readouterr().out
    assert "training 1024-64-36" in out and "tiny synthetic" in out
    assert "epoch   5/5" in out and out.count("epoch ") == 5


def test_confusion_matrix_and_pairs():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3])
    pred = np.array([0, 1, 1, 0, 1, 2, 3, 3, 3])
    C = mlp.confusion_matrix(labels, pred, 4)
    assert C.sum() == 9 and np.trace(C) == 4 and C[0, 1] == 2 and C[2, 3] == 2
    assert mlp.most_confused_pairs(C, 5) == [(0, 1, 2, 1), (2, 3, 2, 0)]
    with pytest.raises(ValueError, match="equal-length"):
        mlp.confusion_matrix(labels, pred[:3])


def test_templates_and_mosaic():
    params = small_net()
    T = mlp.class_templates(params)
    assert T.shape == (36, 1024)
    assert np.allclose(T[5], params["Wlayer1"] @ params["Woutput"][:, 5], atol=1e-5)
    M = mlp.weight_mosaic(params["Wlayer1"], cols=4)
    assert M.shape == (2 * 33 - 1, 4 * 33 - 1)
    assert np.nanmax(np.abs(M)) == pytest.approx(1.0) and np.isnan(M[32, 0])
    with pytest.raises(ValueError, match="expected"):
        mlp.weight_mosaic(np.zeros((10, 3)))


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_learning_rate_study_has_the_five_rates_of_chapter_3(monkeypatch, mode):
    """Chapter 3's table and text name five rates, 0.1x to 10x, with 3x as the one after the chosen rate."""
    from helpers import config

    monkeypatch.setenv("BOOK_MODE", mode)
    assert config.budget("mlp_lr_factors") == [0.1, 0.3, 1, 3, 10]
