"""book/_ext/book_build.py: one execution cache per mode and per version of helpers/."""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "_ext" / "book_build.py")
book_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book_build)


@pytest.fixture
def fake_repo(tmp_path):
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "nn.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("numpy==2\n")
    return tmp_path


def test_fingerprint_follows_helpers_and_requirements(fake_repo):
    first = book_build.code_fingerprint(fake_repo)
    assert book_build.code_fingerprint(fake_repo) == first  # stable
    (fake_repo / "helpers" / "nn.py").write_text("x = 2\n")
    second = book_build.code_fingerprint(fake_repo)
    assert second != first
    (fake_repo / "requirements.txt").write_text("numpy==3\n")
    assert book_build.code_fingerprint(fake_repo) != second
    (fake_repo / "helpers" / "__pycache__").mkdir()
    (fake_repo / "helpers" / "__pycache__" / "junk.py").write_text("ignored")
    assert book_build.code_fingerprint(fake_repo) != second  # only .py sources count, caches never


def test_each_mode_gets_its_own_cache(monkeypatch):
    paths = {}
    for mode in ("quick", "full"):
        monkeypatch.setenv("BOOK_MODE", mode)
        cfg = SimpleNamespace(nb_execution_cache_path="")
        book_build._cache_path(None, cfg)
        paths[mode] = Path(cfg.nb_execution_cache_path)
    assert paths["quick"] != paths["full"]
    assert paths["quick"].name.startswith("quick-") and paths["full"].name.startswith("full-")
    assert paths["quick"].parent == ROOT / "_build" / ".jupyter_cache"


def test_thebe_assets_are_dropped():
    asset = lambda name, body="": SimpleNamespace(filename=name, attributes={"body": body})
    ctx = {"script_files": [asset("_static/doctools.js"), asset("_static/sphinx-thebe.js"),
                            asset(None, 'const THEBE_JS_URL = "https://cdn"')],
           "css_files": [asset("_static/sphinx-thebe.css"), asset("_static/book.css")]}
    book_build._drop_thebe(None, "page", "page.html", ctx, None)
    assert [a.filename for a in ctx["script_files"]] == ["_static/doctools.js"]
    assert [a.filename for a in ctx["css_files"]] == ["_static/book.css"]
