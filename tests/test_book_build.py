"""book/_ext/book_build.py: one execution cache per mode and per version of helpers/."""
import importlib.util
import re
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


def test_fingerprint_ignores_bytecode_caches(fake_repo):
    """Importing helpers writes __pycache__/*.pyc (the build itself does): that must not change the
    key, or every build would execute every chapter again; editing a .py source must."""
    (fake_repo / "helpers" / "ocr").mkdir()
    (fake_repo / "helpers" / "ocr" / "lines.py").write_text("y = 1\n")
    before = book_build.code_fingerprint(fake_repo)
    for folder in (fake_repo / "helpers" / "__pycache__", fake_repo / "helpers" / "ocr" / "__pycache__"):
        folder.mkdir()
        (folder / "lines.cpython-311.pyc").write_bytes(b"\x00compiled")
        (folder / "nn.cpython-311.opt-1.pyc").write_bytes(b"\x01compiled")
        (folder / "stray.py").write_text("z = 0\n")  # even a source file there is a cache, not code
    assert book_build.code_fingerprint(fake_repo) == before
    (fake_repo / "helpers" / "ocr" / "lines.py").write_text("y = 2\n")
    assert book_build.code_fingerprint(fake_repo) != before


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


@pytest.mark.parametrize("remote, public", [
    ("https://github.com/nn4r/book.git", "https://github.com/nn4r/book"),
    ("git@github.com:nn4r/book.git", "https://github.com/nn4r/book"),
    ("ssh://git@gitlab.com/course/nn4r/book.git", "https://gitlab.com/course/nn4r/book"),
    ("https://student:s3cret-token@git.uni.example/nn4r/book", "https://git.uni.example/nn4r/book"),
    ("/srv/git/book.git", None),                 # a local clone: nothing a reader can open
    ("file:///srv/git/book", None),
    ("https://github.com/only-org", None),       # the theme needs org/repo
    ("", None),
])
def test_public_url(remote, public):
    assert book_build.public_url(remote) == public


def test_repository_url_from_env_or_origin(tmp_path, monkeypatch):
    import subprocess
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.delenv("BOOK_REPOSITORY_URL", raising=False)
    assert book_build.repository_url(tmp_path) is None  # no remote: no link
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:nn4r/book.git"], check=True)
    assert book_build.repository_url(tmp_path) == "https://github.com/nn4r/book"
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://gitlab.com/nn4r/mirror")
    assert book_build.repository_url(tmp_path) == "https://gitlab.com/nn4r/mirror"  # the variable wins
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "none")
    assert book_build.repository_url(tmp_path) is None
    assert book_build.repository_url(tmp_path / "not-a-repo") is None


def test_repository_buttons(monkeypatch):
    gh = book_build.repository_options("https://github.com/nn4r/book", "main")
    assert gh["use_repository_button"] and gh["use_issues_button"] and gh["use_source_button"]
    assert gh["repository_provider"] == "github" and gh["repository_branch"] == "main"
    other = book_build.repository_options("https://git.uni.example/nn4r/book")
    assert other["use_repository_button"] and not other["use_issues_button"] and not other["use_source_button"]

    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://git.uni.example/nn4r/book")
    cfg = SimpleNamespace(html_theme_options={"use_download_button": True})
    book_build._repository(None, cfg)
    assert cfg.html_theme_options["repository_url"] == "https://git.uni.example/nn4r/book"
    assert cfg.html_theme_options["use_download_button"]  # other options are kept
    app = SimpleNamespace(config=cfg)
    ctx = {"header_buttons": [{"type": "group", "buttons": [{"label": "source-repository-button", "icon": "fab fa-github"}]}]}
    book_build._generic_icon(app, "page", "page.html", ctx, None)
    assert ctx["header_buttons"][0]["buttons"][0]["icon"] == "fab fa-git-alt"

    monkeypatch.setattr(book_build, "_configured_repository", lambda: "https://github.com/set/in-config")
    cfg = SimpleNamespace(html_theme_options={"repository_url": "https://github.com/set/in-config"})
    book_build._repository(None, cfg)
    assert cfg.html_theme_options == {"repository_url": "https://github.com/set/in-config"}  # _config.yml wins


def test_configured_repository(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\n")
    assert book_build._configured_repository(tmp_path) == ""  # jupyter-book's own default does not count
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/nn4r/book\n")
    assert book_build._configured_repository(tmp_path) == "https://github.com/nn4r/book"
    assert book_build._configured_repository(ROOT) == ""  # this book: from the clone's origin, not typed in


SOLVED = """Intro
````{exercise}
:label: ex-a

Why?
````

````{solution} ex-a
:class: dropdown

Because. Code inside a solution goes with it:
```python
x = 1
```
````

```{solution} ex-b
Short one.
```

:::{solution} ex-c
Colon fence.
:::
After."""


def test_strip_solutions_keeps_exercises():
    out = book_build.strip_solutions(SOLVED)
    assert "{solution}" not in out and "Because" not in out and "x = 1" not in out and "Colon" not in out
    assert "{exercise}" in out and "Why?" in out and out.startswith("Intro") and out.endswith("After.")
    assert book_build.strip_solutions(out) == out


def test_solutions_switch(monkeypatch):
    monkeypatch.delenv("BOOK_SOLUTIONS", raising=False)
    assert not book_build.hide_solutions()
    for v in ("hide", "HIDE", "off", "0"):
        monkeypatch.setenv("BOOK_SOLUTIONS", v)
        assert book_build.hide_solutions()
    monkeypatch.setenv("BOOK_SOLUTIONS", "show")
    assert not book_build.hide_solutions()
    monkeypatch.setenv("BOOK_SOLUTIONS", "student")
    with pytest.raises(ValueError, match="BOOK_SOLUTIONS=hide"):
        book_build.hide_solutions()


def test_every_solution_in_the_notebooks_is_found():
    """The pattern must match every solution the chapters actually contain."""
    import nbformat

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type == "markdown" and "{solution}" in cell.source:
                stripped = book_build.strip_solutions(cell.source)
                assert "{solution}" not in stripped, f"{nb_path.name}: a solution the pattern misses"
                assert stripped.count("{exercise}") == cell.source.count("{exercise}")


def test_figure_alt_from_caption():
    from docutils import nodes

    doc = nodes.document(None, None)
    fig = nodes.figure()
    fig += nodes.image(uri="_images/abc123.png", alt="../_images/abc123.png")
    fig += nodes.caption(text="Loss per epoch, 32 \\times 32 images")
    kept = nodes.figure()
    kept += nodes.image(uri="x.png", alt="Written by hand")
    kept += nodes.caption(text="A caption")
    bare = nodes.figure()
    bare += nodes.image(uri="y.png")  # no caption: nothing to take
    doc += [fig, kept, bare]
    book_build._figure_alt(None, doc, "page")
    assert fig.children[0]["alt"] == "Loss per epoch, 32 × 32 images"
    assert kept.children[0]["alt"] == "Written by hand"
    assert "alt" not in bare.children[0]


def test_instructor_map_covers_every_exercise():
    """book/instructors.md maps the homework to the chapters: every exercise of every chapter is on
    it (the build itself checks that each link and {numref} still resolves)."""
    import nbformat

    page = (ROOT / "book" / "instructors.md").read_text()
    missing, found = [], 0
    for nb_path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for label in re.findall(r"\{exercise\}[^\n]*\n:label: (\S+)", cell.source):
                    found += 1
                    if f"{{numref}}`{label}`" not in page:
                        missing.append(f"{nb_path.name}: {label}")
    assert found >= 30, f"only {found} exercises found: has the exercise syntax changed?"
    assert not missing, f"exercises missing from book/instructors.md: {missing}"


def test_static_files_change_the_html_config(tmp_path, monkeypatch):
    """An edit to book.css alone must rewrite the pages (Sphinx skips a build with no outdated document)."""
    static = tmp_path / "book" / "_static"
    static.mkdir(parents=True)
    (static / "book.css").write_text(".ifig { margin: 0 }")
    first = book_build.static_fingerprint(tmp_path)
    (static / "book.css").write_text(".ifig { margin: 1px }")
    assert book_build.static_fingerprint(tmp_path) != first
    cfg = SimpleNamespace(html_context={"default_mode": "light"})
    book_build._static_changes_rebuild(None, cfg)
    assert cfg.html_context["default_mode"] == "light"
    assert cfg.html_context["book_static"] == book_build.static_fingerprint()


def test_timed_execution_keeps_the_cache_key_and_records_each_cell(tmp_path):
    """The build times every cell; the executed notebook must still match its source in jupyter-cache
    (timestamps left in the cells' metadata would change the key: every build would execute again)."""
    nbformat = pytest.importorskip("nbformat")
    jupyter_cache = pytest.importorskip("jupyter_cache")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("import time; time.sleep(0.4)"),
                nbformat.v4.new_code_cell("x = 1")]
    cache = jupyter_cache.get_cache(tmp_path / "cache")
    _, key = cache.create_hashed_notebook(nb)
    result = book_build.timed_execution(nb, cwd=str(tmp_path), timeout=120, allow_errors=False, meta_override=True)
    assert result.err is None
    assert cache.create_hashed_notebook(nb)[1] == key
    from helpers.margins import cell_seconds

    slow = cell_seconds(nb)
    assert [i for i, _, _ in slow] == [0, 1] and slow[0][1] >= 0.4 and slow[0][2].startswith("import time")
