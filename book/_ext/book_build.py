"""Sphinx extension local to the book: offline static build and a safe execution cache.

- Marks kernels started by the build as static builds (``BOOK_STATIC=1``), so
  ``helpers.interactive`` only pre-renders frames there and creates no live widgets whose
  state would bloat the page.
- Drops sphinx-thebe's CDN-pointing scripts (no live-kernel launch offline).
- Gives every BOOK_MODE its own jupyter-cache folder, keyed also by a hash of ``helpers/``
  and ``requirements.txt`` (and the benchmark figures the performance page reads): jupyter-cache keys notebooks on their code cells only, so without
  this a quick build could reuse full outputs (or the reverse), and a change to the shared
  package would not re-execute the chapters that import it.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def code_fingerprint(root: Path = ROOT) -> str:
    """Hash of everything outside the notebooks that can change their outputs."""
    h = hashlib.sha256()
    # benchmarks/latest.json: book/performance.md reads it
    files = sorted((root / "helpers").rglob("*.py")) + [root / "requirements.txt", root / "benchmarks" / "latest.json"]
    for f in files:
        if f.exists() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _cache_path(app, config) -> None:
    mode = os.environ.get("BOOK_MODE", "full").strip().lower() or "full"
    base = ROOT / "_build" / ".jupyter_cache"
    path = base / f"{mode}-{code_fingerprint()}"
    # keep one cache per mode: drop stale fingerprints of this mode
    if base.exists():
        for old in base.glob(f"{mode}-*"):
            if old != path and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(path)


def _drop_thebe(app, pagename, templatename, context, doctree) -> None:
    """Remove sphinx-thebe's scripts: the book has no live-kernel launch (it needs a network
    server), and the theme would otherwise declare ``THEBE_JS_URL`` (a CDN address) on every page."""
    def keep(asset) -> bool:
        text = str(getattr(asset, "filename", asset) or "") + str(getattr(asset, "attributes", {}).get("body", ""))
        return "thebe" not in text.lower()

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if keep(a)]


def setup(app):
    os.environ["BOOK_STATIC"] = "1"
    app.connect("config-inited", _cache_path, priority=100)
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
