"""helpers.config: one switch, one place for budgets, atomic cache writes."""

import numpy as np
import pytest

from helpers import config


def test_pytest_runs_quick():
    assert config.mode() == "quick"
    assert config.is_quick()


def test_mode_switch(monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "full")
    assert config.mode() == "full" and not config.is_quick()
    monkeypatch.setenv("BOOK_MODE", " QUICK ")
    assert config.mode() == "quick"
    monkeypatch.delenv("BOOK_MODE")
    assert config.mode() == "full"  # the book builds in full mode by default


def test_bad_mode_says_what_to_do(monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "fast")
    with pytest.raises(config.ConfigError, match="BOOK_MODE=quick"):
        config.mode()


def test_budget_follows_mode(monkeypatch):
    quick, full, _ = config.BUDGETS["max_frames"]
    monkeypatch.setenv("BOOK_MODE", "quick")
    assert config.budget("max_frames") == quick
    monkeypatch.setenv("BOOK_MODE", "full")
    assert config.budget("max_frames") == full


def test_every_budget_is_well_formed():
    for name, entry in config.BUDGETS.items():
        assert len(entry) == 3, name
        quick, full, doc = entry
        assert isinstance(doc, str) and doc, f"budget {name} needs a description"
        assert type(quick) is type(full), f"budget {name}: quick and full values differ in type"
        if isinstance(quick, (int, float)):
            assert quick <= full, f"budget {name}: quick value should not exceed the full one"
    assert config.budgets_table()[0][0] == sorted(config.BUDGETS)[0]


def test_unknown_budget_lists_known_ones():
    with pytest.raises(config.ConfigError, match="max_frames"):
        config.budget("no_such_budget")


def test_seed_everything_is_reproducible():
    a = config.seed_everything(3).normal(size=5)
    x = np.random.rand()
    b = config.seed_everything(3).normal(size=5)
    assert np.array_equal(a, b)
    assert np.random.rand() == x
    with pytest.raises(config.ConfigError):
        config.seed_everything(-1)


def test_seed_everything_seeds_torch():
    torch = pytest.importorskip("torch")
    config.seed_everything(7)
    a = torch.rand(3)
    config.seed_everything(7)
    assert torch.equal(a, torch.rand(3))


def test_data_dir_override(monkeypatch, tmp_path):
    target = tmp_path / "cache" / "nested"
    monkeypatch.setenv("BOOK_DATA_DIR", str(target))
    assert config.data_dir() == target and target.is_dir()
    monkeypatch.delenv("BOOK_DATA_DIR")
    assert config.data_dir() == config.ROOT / "data"


def test_data_dir_unwritable(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BOOK_DATA_DIR", str(blocker / "sub"))
    with pytest.raises(config.ConfigError, match="BOOK_DATA_DIR"):
        config.data_dir()


def test_torch_device(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("BOOK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert config.torch_device().type == expected
    monkeypatch.setenv("BOOK_DEVICE", "cpu")
    assert config.torch_device().type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("BOOK_DEVICE", "cuda")
        with pytest.raises(config.ConfigError, match="no CUDA"):
            config.torch_device()


def test_save_npz_is_atomic(tmp_path):
    path = tmp_path / "arrays.npz"
    config.save_npz(path, a=np.arange(3))
    assert np.array_equal(np.load(path)["a"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.npz"]  # no temp file left


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "weights.npz"
    config.save_npz(path, w=np.ones(2))
    with pytest.raises(RuntimeError):
        with config.atomic_path(path) as tmp:
            tmp.write_bytes(b"half written")
            raise RuntimeError("interrupted")
    assert np.array_equal(np.load(path)["w"], np.ones(2))  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.npz"]
